"""Scan to pack in a real browser: the operator's barcode scanner types into the focused input and
presses Enter, for the order number and then for each item, exactly as a keyboard would. Set
OC_SHOTS=1 to keep a screenshot of every step in /tmp/shots."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from logistics.models import Shipment
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place, staff, stock
from tests.test_browser_console import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scan(page, code):
    """What a scanner does: type the code into whatever has the focus and press Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_an_operator_packs_an_order_by_scanning_it_in_the_browser(browser, live_server):
    warehouse = WarehouseFactory(name="Hangzhou East")
    teapot = ProductFactory(name="Ceramic teapot", barcode="6901234500017", weight_kg=Decimal("0.800"))
    cups = ProductFactory(name="Tea cups", barcode="6901234500024", weight_kg=Decimal("0.150"))
    stranger = ProductFactory(name="Bamboo tray", barcode="6901234500031")
    for product in (teapot, cups, stranger):
        stock(product, warehouse, 10)
    order = place(lines=[(teapot, 1), (cups, 2)])
    pick_all(order)
    operator = staff("Warehouse operator", username="otto")
    visit = Visit(browser, live_server.url)
    page = visit.page

    visit.log_in(operator)
    page.goto("/admin/logistics/shipment/pack/")
    order_input = page.get_by_label("Scan the order number")
    expect(order_input).to_be_focused()
    visit.shot("scan-order")

    scan(page, order.number)
    expect(page.get_by_role("heading", name=f"Packing order {order.number}")).to_be_visible()
    item_input = page.get_by_label("Scan an item (barcode or SKU)")
    expect(item_input).to_be_focused()
    expect(page.locator(".oc-scan-missing")).to_contain_text(f"1 × {teapot.sku}")
    expect(page.locator(".oc-scan-missing")).to_contain_text(f"2 × {cups.sku}")

    scan(page, teapot.barcode)
    expect(page.locator(".oc-scan-ok")).to_have_text(f"{teapot.sku} packed: 1 of 1.")
    expect(page.locator(".oc-scan-missing")).not_to_contain_text(teapot.sku)
    expect(item_input).to_be_focused()

    scan(page, stranger.barcode)
    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"{stranger.barcode} is not in order {order.number}. Put it aside.")
    expect(item_input).to_be_focused()
    visit.shot("wrong-item")

    scan(page, teapot.barcode)
    expect(page.get_by_role("alert")).to_contain_text(f"All 1 × {teapot.sku} are already packed.")

    # A click elsewhere on the page does not take the focus away from the scanner.
    page.locator(".oc-scan-parcel").click()
    expect(item_input).to_be_focused()

    scan(page, cups.barcode)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator(".oc-scan-progress")).to_have_text("2 of 3 units")
    scan(page, cups.sku)

    weight = page.get_by_label("Weight (kg)")
    expect(weight).to_be_focused()
    expect(weight).to_have_value("1.100")
    visit.shot("weigh")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("1.25")
    page.get_by_label("Packages").fill("2")
    page.get_by_label("Weight (kg)").press("Enter")

    done = page.get_by_role("status")
    expect(done).to_contain_text(f"Order {order.number}: parcel packed.")
    expect(done).to_contain_text("1.250 kg in 2 packages.")
    expect(done.get_by_role("link", name="Print packing slip")).to_be_visible()
    expect(done.get_by_role("link", name="Print shipping label")).to_be_visible()
    expect(page.get_by_label("Scan the order number")).to_be_focused()
    visit.shot("packed")

    with page.context.expect_page() as label_tab:
        done.get_by_role("link", name="Print shipping label").click()
    label = label_tab.value
    label.wait_for_load_state()
    expect(label.locator(".label-count")).to_have_text(["1/2", "2/2"])
    expect(label.locator(f'svg[aria-label="{order.number}"]')).to_have_count(2)
    visit.context.close()

    assert visit.problems == []
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == Shipment.Status.PACKED
    assert (shipment.weight_kg, shipment.package_count, shipment.packed_by) == (Decimal("1.250"), 2, operator)
    assert dict(shipment.lines.values_list("order_line__sku", "packed_quantity")) == {teapot.sku: 1, cups.sku: 2}
    assert Order.objects.get(pk=order.pk).status == Order.Status.PACKED
