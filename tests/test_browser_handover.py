"""Handing parcels over to a carrier's driver in a real browser, in English and in Chinese
(docs/architecture.md, "Handover to the carrier"): an operator opens a batch for the pickup, scans
two parcels as fast as a barcode scanner types (one of them is another carrier's and is refused),
prints the manifest and confirms, which dispatches the parcel that was taken."""

import pytest
from playwright.sync_api import expect

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import HandoverBatch, Shipment
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_browser_jobs import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# Words the console already says in each language on these pages.
WORDS = {"en": ("Carrier", "Tracking number"), "zh-hans": ("承运商", "运单号")}


def packed_parcel(level, carrier, number):
    order = advance(place_apart(lines=[(level.product, 1)]), "packed")
    return logistics.assign_tracking_number(order.shipments.get().pk, carrier.pk, number, actor=SYSTEM)


@pytest.mark.parametrize("language", WORDS)
def test_an_operator_hands_parcels_over_to_the_driver(browser, live_server, language):
    level = stock(ProductFactory(), WarehouseFactory(), 10)
    sf = CarrierFactory()
    zto = CarrierFactory(code="zto", name="ZTO Express", tracking_url_template="")
    ours = packed_parcel(level, sf, "SF1000000000001")
    theirs = packed_parcel(level, zto, "731234567890")
    page, problems = signed_in_page(browser, live_server, staff("Warehouse operator"), language)
    carrier_word, number_word = WORDS[language]

    page.goto("/admin/logistics/handoverbatch/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("#oc-handover-carrier").select_option(label="SF Express")
    page.locator("[data-handover-open]").click()

    expect(page.locator(".oc-facts")).to_contain_text(carrier_word)
    expect(page.locator("#oc-handover-scan")).to_be_focused()
    # What a scanner does, twice in a row without waiting for the first answer.
    page.keyboard.type("731234567890")
    page.keyboard.press("Enter")
    page.keyboard.type("SF1000000000001")
    page.keyboard.press("Enter")

    log = page.locator("[data-handover-log] li")
    expect(log).to_have_count(2)
    expect(page.locator("[data-handover-log] li.error")).to_contain_text("731234567890")
    expect(page.locator("[data-handover-log] li.success")).to_contain_text("SF1000000000001")
    expect(page.locator("[data-handover-rows] tr")).to_have_count(1)
    expect(page.locator("[data-handover-parcel='SF1000000000001']")).to_contain_text(ours.order.number)
    expect(page.locator("[data-handover-count]")).to_have_text("1")
    expect(page.locator("#oc-handover-scan")).to_be_focused()

    page.locator("[data-handover-manifest]").click()
    expect(page.locator("[data-handover-manifest-sheet]")).to_contain_text(ours.order.number)
    expect(page.locator("[data-handover-manifest-sheet] thead")).to_contain_text(number_word)
    expect(page.locator("[data-handover-manifest-sheet]")).not_to_contain_text(theirs.order.number)
    expect(page.locator(".signature div")).to_have_count(3)
    page.go_back()

    page.locator("[data-handover-confirm]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("SF Express")
    expect(page.locator("[data-handover-confirm]")).to_have_count(0)
    assert HandoverBatch.objects.get().dispatched_at is not None
    assert Shipment.objects.get(pk=ours.pk).status == Shipment.Status.SHIPPED
    assert Shipment.objects.get(pk=theirs.pk).status == Shipment.Status.PACKED
    assert problems == []
