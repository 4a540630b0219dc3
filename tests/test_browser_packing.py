"""Scan to pack in a real browser on a 390 px handheld, in English and in Chinese: the operator's
barcode scanner types into the focused input and presses Enter, for the order number and then for
each item, 20 ms apart as a scanner does, and every scan is counted, in the order scanned, without
the page reloading. The sounds are not heard; the page says which one it played
(`data-last-sound`). Set OC_SHOTS=1 to keep a screenshot of every step in /tmp/shots."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from logistics.models import PackingScanRefusal, Shipment
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place, staff, stock
from tests.test_browser_jobs import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
SCANNER_GAP_MS = 20
# Words the page already says in each language, to know it is shown in that language.
NOT_IN_ORDER = {"en": "is not in order", "zh-hans": "不属于订单"}


def shot(page, name):
    if os.environ.get("OC_SHOTS") == "1":
        Path("/tmp/shots").mkdir(exist_ok=True)
        page.screenshot(path=f"/tmp/shots/packing-{name}.png", full_page=True)


def scan_fast(page, *codes):
    """What a scanner does, code after code: type it into whatever has the focus and press Enter,
    then wait SCANNER_GAP_MS before the next. An empty code is a doubled Enter."""
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.wait_for_timeout(SCANNER_GAP_MS)


def sticking_out(page):
    """What sticks out of the screen sideways in the page's own content."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#content-main, #content-main *')]
            .filter(element => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(element => element.tagName + '.' + element.className)"""
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_operator_packs_an_order_on_a_handheld_with_scans_20_ms_apart(browser, live_server, language):
    warehouse = WarehouseFactory(name="Hangzhou East")
    teapot = ProductFactory(sku="TEAPOT", barcode="6901234500017", weight_kg=Decimal("0.800"))
    cups = ProductFactory(sku="CUP", barcode="6901234500024", weight_kg=Decimal("0.150"))
    stranger = ProductFactory(sku="TRAY", barcode="6901234500031")
    for product in (teapot, cups, stranger):
        stock(product, warehouse, 50)
    order = place(lines=[(teapot, 1), (cups, 12)])
    pick_all(order)
    shipment = order.shipments.get()
    operator = staff("Warehouse operator", username=f"otto-{language}")
    page, problems = signed_in_page(browser, live_server, operator, language)
    page.set_viewport_size({"width": 390, "height": 844})
    sent = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/scan/")
            and sent.append(re.search(r'name="code"\r\n\r\n(.*)\r\n', request.post_data).group(1))
        ),
    )

    page.goto("/admin/logistics/shipment/pack/")
    expect(page.locator("#oc-scan-order")).to_be_focused()
    scan_fast(page, order.number)
    page.wait_for_url(f"**/pack/{shipment.pk}/")
    item_input = page.locator("#oc-scan-code")
    expect(item_input).to_be_focused()
    station = page.locator("form[data-scan-url]")
    weight = page.locator("#oc-scan-weight")
    expect(weight).to_be_hidden()
    assert sticking_out(page) == []
    shot(page, f"{language}-start")

    # Identical cups in quick succession, a stranger in between, a doubled Enter, and 5 cups at once.
    scan_fast(page, *[cups.barcode] * 4, stranger.barcode, "", teapot.barcode)
    page.keyboard.type("5*")  # the quantity, typed before the scanner reads one of the five
    scan_fast(page, cups.barcode)
    expect(station).to_have_attribute("data-answered", "7")
    assert sent == [cups.barcode] * 4 + [stranger.barcode, teapot.barcode, f"5*{cups.barcode}"]
    expect(page.locator(".oc-scan-progress")).to_contain_text("10")
    expect(page.locator('tr[data-sku="CUP"] [data-packed]')).to_have_text("9")
    expect(page.locator("[data-scan-missing]")).to_contain_text("3 × CUP")
    expect(station).to_have_attribute("data-last-sound", "accepted")
    expect(weight).to_be_hidden()

    # The last three cups complete the parcel; the next scan is one too many.
    scan_fast(page, *[cups.sku] * 3)
    expect(station).to_have_attribute("data-answered", "10")
    expect(station).to_have_attribute("data-last-sound", "complete")
    expect(weight).to_be_visible()
    expect(page.locator("[data-scan-missing]")).to_be_hidden()
    expect(item_input).to_be_focused()
    prefilled = weight.input_value()
    assert prefilled == "2.600"  # 0.800 kg teapot + 12 × 0.150 kg cups
    shot(page, f"{language}-complete")

    scan_fast(page, cups.barcode)
    expect(station).to_have_attribute("data-answered", "11")
    expect(station).to_have_attribute("data-last-sound", "refused")
    expect(page.get_by_role("alert")).to_contain_text(order.number)
    expect(item_input).to_be_focused()
    expect(weight).to_have_value(prefilled)

    # A scan that lands in the weight field (the packer clicked there first) goes to the parcel.
    weight.click()
    scan_fast(page, cups.barcode)
    expect(station).to_have_attribute("data-answered", "12")
    expect(weight).to_have_value(prefilled)
    expect(item_input).to_be_focused()
    assert sent[-1] == cups.barcode
    assert sticking_out(page) == []
    shot(page, f"{language}-refused")

    refusals = list(PackingScanRefusal.objects.order_by("pk").values_list("code", "reason"))
    assert refusals == [
        (stranger.barcode, PackingScanRefusal.Reason.NOT_IN_ORDER),
        (cups.barcode, PackingScanRefusal.Reason.PARCEL_COMPLETE),
        (cups.barcode, PackingScanRefusal.Reason.PARCEL_COMPLETE),
    ]

    # The weight is typed on purpose, and the parcel closed.
    weight.fill("2.75")
    page.locator("#oc-scan-packages").fill("2")
    page.locator(".oc-scan-finish button[type=submit]").click()
    expect(page.locator(".oc-scan-done")).to_contain_text(order.number)
    expect(page.locator("#oc-scan-order")).to_be_focused()
    assert sticking_out(page) == []
    shot(page, f"{language}-packed")

    assert problems == []
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED
    assert (shipment.weight_kg, shipment.package_count, shipment.packed_by) == (Decimal("2.750"), 2, operator)
    assert dict(shipment.lines.values_list("order_line__sku", "packed_quantity")) == {"TEAPOT": 1, "CUP": 12}
    assert Order.objects.get(pk=order.pk).status == Order.Status.PACKED


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_refused_scan_is_said_in_the_packers_language(browser, live_server, language):
    warehouse = WarehouseFactory()
    teapot = ProductFactory(sku="TEAPOT", barcode="6901234500017")
    stock(teapot, warehouse, 5)
    order = place(lines=[(teapot, 2)])
    pick_all(order)
    page, problems = signed_in_page(browser, live_server, staff("Warehouse operator"), language)
    page.goto(f"/admin/logistics/shipment/pack/{order.shipments.get().pk}/")

    scan_fast(page, "6909999900011")

    expect(page.get_by_role("alert")).to_contain_text(f"6909999900011 {NOT_IN_ORDER[language]}")
    expect(page.locator("form[data-scan-url]")).to_have_attribute("data-last-sound", "refused")
    assert problems == []
