"""The buyer's day in a real browser, in English and in Chinese, each step on its own page as the
people doing it use them (docs/architecture.md, "Replenishment", "Suppliers and purchase orders",
"Stock counts", "Classification and turnover"): the buyer recomputes the suggestions and turns the
one for a kettle running out into a draft purchase order and sends it; the warehouse receives it;
the warehouse counts the shelf blind; the buyer recomputes the ABC classes and finds the kettle
among them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from inventory.models import CountSession, Product, PurchaseOrder, StockLevel
from inventory.selectors import ledger_mismatches
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
    place_apart,
    staff,
    stock,
)
from tests.test_browser_jobs import LANGUAGES, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=15_000)


@pytest.mark.parametrize("language", LANGUAGES)
def test_suggestion_to_purchase_order_to_receipt_to_count_to_classes(browser, live_server, language):
    east = WarehouseFactory(priority=1, code="EAST")
    supplier = SupplierFactory(code="ACME", name="Acme Trading", lead_time_days=9)
    kettle = ProductFactory(sku="KETTLE", name="Kettle", barcode="6901234598765", cost=Decimal("30.00"))
    SupplierProductFactory(supplier=supplier, product=kettle, preferred=True, pack_size=6, unit_cost=Decimal("30.00"))
    stock(kettle, east, 3, bin_location="A-01")
    for days_ago in range(3):
        place_apart(lines=[(kettle, 1)], placed_at=timezone.now() - timedelta(days=days_ago, hours=1))
    buyer = staff("Buyer", username=f"wu-{language}")

    # The buyer: suggestions recomputed from the sales, the kettle's turned into a purchase order.
    page, problems = signed_in_page(browser, live_server, buyer, language)
    page.goto("/admin/planning/replenishmentsuggestion/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#oc-recompute").click()
    group = page.locator(".oc-supplier-group")
    expect(group).to_have_count(1)
    expect(group.locator("h2")).to_contain_text("Acme Trading")
    expect(group.locator("tbody tr")).to_contain_text("KETTLE")
    group.locator("input[name=suggestion]").check()
    page.locator("#oc-order-chosen").click()
    expect(page.locator(".oc-supplier-group")).to_have_count(0)
    purchase_order = PurchaseOrder.objects.get()
    ordered = purchase_order.lines.get().quantity
    assert ordered % 6 == 0 and ordered >= 6
    page.goto("/admin/inventory/purchaseorder/")
    page.locator("#result_list").get_by_text(purchase_order.number).click()
    page.locator("#po-send").click()
    with translation.override(language):
        sent = str(PurchaseOrder.Status.SENT.label)
        received = str(PurchaseOrder.Status.RECEIVED.label)
    expect(page.locator("#po-status")).to_contain_text(sent)
    assert problems == []

    # The warehouse: the whole order received by form.
    operator = staff("Warehouse operator", username=f"li-{language}")
    page, problems = signed_in_page(browser, live_server, operator, language)
    page.goto(f"/admin/inventory/purchaseorder/{purchase_order.pk}/change/")
    page.locator("#po-receive").click()
    line = purchase_order.lines.get()
    page.locator(f"input[name=line-{line.pk}-good]").fill(str(ordered))
    page.locator("#po-book").click()
    expect(page.locator("#po-status")).to_contain_text(received)
    on_hand = StockLevel.objects.get(product=kettle, warehouse=east).on_hand
    assert on_hand == 3 + ordered

    # The warehouse counts zone A blind, finds what the books say, and the count is booked at once.
    page.goto("/admin/inventory/countsession/")
    page.locator("#new-count").click()
    page.locator("#id_warehouse").select_option(str(east.pk))
    page.locator("#id_scope").select_option("zone")
    page.locator("#id_zone").fill("A")
    page.locator("input[type=submit]").click()
    expect(page.locator("#id_code")).to_be_focused()
    assert str(on_hand) not in page.locator("#count-lines tr[data-sku=KETTLE]").inner_text()
    page.locator("#id_quantity").fill(str(on_hand))
    page.locator("#id_code").focus()
    page.keyboard.type(kettle.barcode)
    page.keyboard.press("Enter")
    expect(page.locator("#count-lines tr[data-sku=KETTLE] td").nth(3)).to_have_text(str(on_hand))
    page.locator("#finish-count").click()
    expect(page.locator("#count-status")).to_have_class("oc-badge oc-count-booked")
    assert CountSession.objects.get().status == CountSession.Status.BOOKED
    assert problems == []

    # The buyer: the classes recomputed from the period's revenue; the only product sold is A.
    page, problems = signed_in_page(browser, live_server, buyer, language)
    page.goto("/admin/planning/inventorysnapshot/")
    page.locator("#inventory-recompute button").click()
    expect(page.locator("#inventory-figures")).to_be_visible()
    classes = page.locator("#inventory-classes tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in classes][0] == ["A", "1"]
    assert Product.objects.get(pk=kettle.pk).abc_class == "A"
    assert StockLevel.objects.get(product=kettle, warehouse=east).on_hand == on_hand
    assert list(ledger_mismatches()) == []
    assert problems == []
