"""The buyer's purchase order in a real browser, in English and in Chinese (docs/architecture.md,
"Suppliers and purchase orders"): a buyer drafts one by SKU and quantity and sends it; a warehouse
operator receives part of it by form, a damaged unit going into quarantine, and scans one more."""

from decimal import Decimal

import pytest
from django.utils import translation
from playwright.sync_api import expect

from inventory.models import PurchaseOrder, StockLevel
from tests.factories import ProductFactory, SupplierProductFactory, WarehouseFactory, staff
from tests.test_browser_jobs import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# Words the console already says in each language on these pages: status, received, print.
WORDS = {"en": ("Status", "Received", "Print"), "zh-hans": ("状态", "已收货", "打印")}


@pytest.mark.parametrize("language", WORDS)
def test_a_buyer_drafts_and_sends_and_an_operator_receives_in_part(browser, live_server, language):
    warehouse = WarehouseFactory(code="SH", name="Shanghai")
    offer = SupplierProductFactory(
        product=ProductFactory(sku="TEA-1", barcode="6901234567892", cost=Decimal("0")), unit_cost=Decimal("12.50")
    )
    status_word, received_word, print_word = WORDS[language]

    page, problems = signed_in_page(browser, live_server, staff("Buyer"), language)
    page.goto("/admin/inventory/purchaseorder/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.goto("/admin/inventory/purchaseorder/add/")
    page.locator("#id_supplier").select_option(label=str(offer.supplier))
    page.locator("#id_warehouse").select_option(label=str(warehouse))
    page.locator("#id_lines").fill("TEA-1 10")
    page.locator("input[type=submit].default").click()

    expect(page.locator("#po-summary")).to_contain_text(status_word)
    expect(page.locator("#po-value")).to_contain_text("125.00")
    expect(page.locator("#po-print")).to_contain_text(print_word)
    page.locator("#po-send").click()
    purchase_order = PurchaseOrder.objects.get()
    with translation.override(language):
        sent_label = str(PurchaseOrder.Status.SENT.label)
    expect(page.locator("#po-status")).to_contain_text(sent_label)
    assert purchase_order.status == PurchaseOrder.Status.SENT
    expect(page.locator("#po-receive")).to_have_count(0)
    assert problems == []

    page, problems = signed_in_page(browser, live_server, staff("Warehouse operator"), language)
    page.goto(f"/admin/inventory/purchaseorder/{purchase_order.pk}/change/")
    page.locator("#po-receive").click()
    line = purchase_order.lines.get()
    page.locator(f"input[name=line-{line.pk}-good]").fill("5")
    page.locator(f"input[name=line-{line.pk}-damaged]").fill("1")
    page.locator("#po-book").click()

    expect(page.locator("#po-lines")).to_contain_text(received_word)
    expect(page.locator("#po-line-TEA-1 .po-received")).to_have_text("5")
    expect(page.locator("#po-line-TEA-1 .po-damaged")).to_have_text("1")
    page.locator("#po-scan").click()
    page.locator("#id_code").fill("6901234567892")
    page.locator("#id_code").press("Enter")
    expect(page.locator("#scan-TEA-1 .po-received")).to_have_text("6")
    page.locator("#id_code").fill("NO-SUCH-CODE")
    page.locator("#id_code").press("Enter")
    expect(page.locator(".errorlist")).to_contain_text("NO-SUCH-CODE")

    purchase_order.refresh_from_db()
    assert purchase_order.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    level = StockLevel.objects.get(product=offer.product, warehouse=warehouse)
    assert (level.on_hand, level.quarantined) == (6, 1)
    assert problems == []
