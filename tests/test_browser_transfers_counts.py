"""A transfer and a stock count in a real browser, in English and in Chinese (docs/architecture.md,
"Transfers between warehouses", "Stock counts"): a warehouse operator drafts a transfer, sends it
and receives it with one unit broken on the way; then counts a zone blind by scanning, and a
manager approves the large variance, which is booked through the ledger."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import CountSession, StockLevel, StockMovement, Transfer
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, WarehouseFactory, staff, stock
from tests.test_browser_jobs import LANGUAGES, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)


def scan(page, code, *, quantity=None):
    """Type a code at the count page as a scanner does (ending with Enter)."""
    expect(page.locator("#id_code")).to_be_focused()
    if quantity is not None:
        page.locator("#id_quantity").fill(str(quantity))
        page.locator("#id_code").focus()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_transfer_sent_and_received_and_a_blind_count_approved_by_a_manager(browser, live_server, language):
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    tea = ProductFactory(sku="TEA", name="Jasmine tea", barcode="6901234511112", cost=Decimal("12.00"))
    cups = ProductFactory(sku="CUPS", name="Tea cups", barcode="6901234522223", cost=Decimal("3.00"))
    stock(tea, north, 30, bin_location="A-01")
    stock(cups, north, 12, bin_location="A-02")
    operator = staff("Warehouse operator", username=f"li-{language}")
    page, problems = signed_in_page(browser, live_server, operator, language)

    # The transfer: drafted, sent out of NORTH (in transit), received at SOUTH one short.
    page.goto("/admin/inventory/transfer/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#new-transfer").click()
    page.locator("#id_source").select_option(str(north.pk))
    page.locator("#id_destination").select_option(str(south.pk))
    page.locator("#id_lines").fill("TEA 6\nCUPS 2")
    page.locator("input[type=submit]").click()
    page.locator("#send-transfer").click()
    expect(page.locator("#transfer-status")).to_have_class("oc-badge oc-transfer-in_transit")
    transfer = Transfer.objects.get()
    page.goto("/admin/inventory/transfer/")
    expect(page.locator("#result_list")).to_contain_text(transfer.number)
    page.goto(f"/admin/inventory/stocklevel/?warehouse__id__exact={north.pk}")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.goto(f"/admin/inventory/transfer/{transfer.pk}/page/")
    page.locator(f"#id_received_{tea.pk}").fill("5")
    page.locator(f"#id_reason_{tea.pk}").fill("one tin dented and thrown away")
    page.locator("#receive-transfer").click()
    expect(page.locator("#transfer-status")).to_have_class("oc-badge oc-transfer-received")
    assert StockLevel.objects.get(product=tea, warehouse=south).on_hand == 5
    assert StockLevel.objects.get(product=tea, warehouse=north).on_hand == 24

    # The count: zone A of NORTH, blind, scanned unit by unit and by the case.
    page.goto("/admin/inventory/countsession/")
    page.locator("#new-count").click()
    page.locator("#id_warehouse").select_option(str(north.pk))
    page.locator("#id_scope").select_option("zone")
    page.locator("#id_zone").fill("A")
    page.locator("input[type=submit]").click()
    session = CountSession.objects.get()
    for _ in range(3):
        scan(page, tea.barcode)
    scan(page, "TEA", quantity=15)
    expect(page.locator("#count-lines tr[data-sku=TEA] td").nth(3)).to_have_text("18")
    scan(page, cups.barcode, quantity=11)
    # One case too many: the counter corrects the line by hand.
    cups_row = page.locator("#count-lines tr[data-sku=CUPS]")
    cups_row.locator("input[name=counted]").fill("10")
    cups_row.locator("button[type=submit]").click()
    expect(page.locator("#count-lines tr[data-sku=CUPS] td").nth(3)).to_have_text("10")
    scan(page, "NOT-HERE")
    expect(page.locator(".field-code .errorlist")).to_contain_text("NOT-HERE")
    expect(page.locator("#count-report")).to_have_count(0)
    # Bin, SKU, product, what was counted and its correction: never the 24 the books expect.
    assert "24" not in page.locator("#count-lines tr[data-sku=TEA]").inner_text()
    page.locator("#finish-count").click()
    expect(page.locator("#count-status")).to_have_class("oc-badge oc-count-awaiting_approval")
    expect(page.locator("#count-report")).to_have_count(0)
    assert problems == []

    # The manager sees the variance report and approves: booked through the ledger.
    page, problems = signed_in_page(browser, live_server, staff("Manager", username=f"chen-{language}"), language)
    page.goto(f"/admin/inventory/countsession/{session.pk}/page/")
    flagged = page.locator("#count-report tr.count-flagged")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("TEA")
    page.locator("#approve-count").click()
    expect(page.locator("#count-status")).to_have_class("oc-badge oc-count-booked")
    assert StockLevel.objects.get(product=tea, warehouse=north).on_hand == 18
    count = StockMovement.objects.get(kind=StockMovement.Kind.COUNT, stock_level__product=tea)
    assert (count.on_hand_change, count.reference) == (-6, session.number)
    assert list(ledger_mismatches()) == []
    assert problems == []
