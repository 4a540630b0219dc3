"""Two orders through the warehouse in a real browser, in English and in Chinese, as the staff
would take them (docs/architecture.md, "Printing in batches", "The packing station", "Handover to
the carrier", "Interception and parcels that come back"): the operator prints the pick list's
slips and labels in one job, which gives both parcels tracking numbers from the carrier's pool;
packs both with scans fired 20 ms apart, every one counted; hands both over to the driver; a
coordinator then has one intercepted after its order was cancelled, and the operator receives it
back into stock, which closes its order as returned with its refund requested."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.actors import SYSTEM
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import HandoverBatch, Interception, PooledTrackingNumber, Shipment, TrackingNumberPool
from orders.models import Order, Refund
from tests.factories import CarrierServiceFactory, ProductFactory, WarehouseFactory, place_apart, staff, stock
from tests.test_browser_jobs import signed_in_page
from tests.test_browser_packing import scan_fast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# Words the console already says in each language: the packing slip's heading.
SLIP = {"en": "Packing slip", "zh-hans": "装箱单"}
POOL = ["SF0000000000001", "SF0000000000002", "SF0000000000003"]


def pack(page, order_number, *codes):
    """Scan the order's number at the station, then its items 20 ms apart, and close the parcel."""
    expect(page.locator("#oc-scan-order")).to_be_focused()
    scan_fast(page, order_number)
    station = page.locator("form[data-scan-url]")
    expect(page.locator("#oc-scan-code")).to_be_focused()
    scan_fast(page, *codes)
    expect(station).to_have_attribute("data-answered", str(len(codes)))
    expect(station).to_have_attribute("data-last-sound", "complete")
    page.locator("#oc-scan-weight").fill("1.2")
    page.locator(".oc-scan-finish button[type=submit]").click()
    expect(page.locator(".oc-scan-done")).to_contain_text(order_number)


@pytest.mark.parametrize("language", SLIP)
def test_two_orders_printed_packed_handed_over_and_one_intercepted_and_received_back(browser, live_server, language):
    warehouse = WarehouseFactory(name="Hangzhou East")
    teapot = ProductFactory(sku="TEAPOT", barcode="6901234500017", unit_price=Decimal("80.00"))
    cup = ProductFactory(sku="CUP", barcode="6901234500024", unit_price=Decimal("10.00"))
    stock(teapot, warehouse, 10, bin_location="A-1")
    stock(cup, warehouse, 20, bin_location="B-1")
    service = CarrierServiceFactory(supports_cod=True)
    pool = TrackingNumberPool.objects.create(service=service)
    PooledTrackingNumber.objects.bulk_create(
        [PooledTrackingNumber(pool=pool, carrier=service.carrier, number=number) for number in POOL]
    )
    cancelled = place_apart(lines=[(teapot, 1), (cup, 3)], payment_method="card", paid_amount=Decimal("110.00"))
    kept = place_apart(lines=[(cup, 2)], payment_method="card", paid_amount=Decimal("20.00"))
    wave = logistics.create_pick_wave(warehouse.pk, [cancelled.pk, kept.pk], actor=SYSTEM)
    operator = staff("Warehouse operator", username=f"otto-{language}")

    # Print: the pick list's slips and labels in one job on label stock, numbers from the pool.
    page, problems = signed_in_page(browser, live_server, operator, language)
    page.goto(f"/admin/logistics/pickwave/{wave.pk}/print/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("[data-batch-print-link]").click()
    page.locator("input[name=paper][value=label]").check()
    page.locator("[data-print-all]").click()
    expect(page.locator(".slip")).to_have_count(2)
    expect(page.locator(".slip").first).to_contain_text(SLIP[language])
    expect(page.locator(".label")).to_have_count(2)
    numbers = dict(Shipment.objects.values_list("order_id", "tracking_number"))
    assert sorted(numbers.values()) == POOL[:2]
    for number in POOL[:2]:
        expect(page.locator(".label-tracking", has_text=number)).to_have_count(1)

    # Pack: every scan counted, 20 ms apart, the cups scanned one after the other.
    page.goto("/admin/logistics/shipment/pack/")
    pack(page, cancelled.number, teapot.barcode, *[cup.barcode] * 3)
    pack(page, kept.number, cup.barcode, cup.barcode)
    assert set(Shipment.objects.values_list("status", flat=True)) == {Shipment.Status.PACKED}

    # Hand over: both parcels scanned into the driver's batch as fast as a scanner types.
    page.goto("/admin/logistics/handoverbatch/")
    page.locator("#oc-handover-carrier").select_option(label=service.carrier.name)
    page.locator("[data-handover-open]").click()
    expect(page.locator("#oc-handover-scan")).to_be_focused()
    for number in POOL[:2]:
        page.keyboard.type(number)
        page.keyboard.press("Enter")
    expect(page.locator("[data-handover-rows] tr")).to_have_count(2)
    page.locator("[data-handover-confirm]").click()
    expect(page.locator(".messagelist .success")).to_contain_text(service.carrier.name)
    assert HandoverBatch.objects.get().dispatched_at is not None
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.SHIPPED}
    assert problems == []

    # Intercept: the customer cancelled after dispatch; the carrier stops the parcel for a fee.
    parcel = Shipment.objects.get(order=cancelled)
    page, problems = signed_in_page(browser, live_server, staff("Logistics coordinator"), language)
    page.goto(f"/admin/logistics/shipment/{parcel.pk}/change/")
    page.locator("[data-request-interception]").click()
    page.locator("select[name=reason]").select_option("cancelled")
    page.locator("input[type=submit]").click()
    expect(page.locator("[data-interception-status='requested']")).to_be_visible()
    page.locator("[data-interception-outcome]").click()
    page.locator("input[name=outcome][value=intercepted]").check()
    page.locator("input[name=fee]").fill("12.00")
    page.locator("input[type=submit]").click()
    expect(page.locator("[data-interception-status='intercepted']")).to_be_visible()
    assert problems == []

    # Receive it back: scanned at the warehouse, every unit back into sellable stock.
    page, problems = signed_in_page(browser, live_server, operator, language)
    page.goto("/admin/logistics/shipment/coming-back/")
    expect(page.locator("[data-coming-back-scan]")).to_be_focused()
    page.keyboard.type(parcel.tracking_number)
    page.keyboard.press("Enter")
    page.locator("[data-receive-line='TEAPOT'] input[name^=sellable]").fill("1")
    page.locator("[data-receive-line='CUP'] input[name^=sellable]").fill("3")
    page.locator("[data-receive-submit]").click()
    expect(page.locator(".messagelist .success")).to_contain_text(cancelled.number)
    assert problems == []

    assert Interception.objects.get().fee == Decimal("12.00")
    assert Shipment.objects.get(pk=parcel.pk).status == Shipment.Status.RECEIVED_BACK
    assert Order.objects.get(pk=cancelled.pk).status == Order.Status.RETURNED
    assert Order.objects.get(pk=kept.pk).status == Order.Status.SHIPPED
    assert Refund.objects.get(order=cancelled).amount == Decimal("110.00")
    assert not Refund.objects.filter(order=kept).exists()
    levels = {level.product.sku: level.on_hand for level in StockLevel.objects.select_related("product")}
    assert levels == {"TEAPOT": 10, "CUP": 18}
