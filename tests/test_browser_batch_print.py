"""A pick list's slips and labels printed in one job in a real browser, in English and in Chinese
(docs/architecture.md, "Printing in batches"): from the pick list to its batch page, label stock
chosen, "Print" gives the parcels their pool numbers, and the printable page lays out at 100 × 150 mm
(the PDF Chromium prints has pages of that size) with the cash to collect on the label; a reprint of
one parcel then says so."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import PooledTrackingNumber, Shipment, TrackingNumberPool
from tests.factories import CarrierServiceFactory, ProductFactory, WarehouseFactory, place_apart, staff, stock
from tests.test_browser_jobs import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# Words these pages already say in each language: the packing slip's heading.
SLIP = {"en": "Packing slip", "zh-hans": "装箱单"}
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")
POINTS_PER_MM = 72 / 25.4


@pytest.mark.parametrize("language", SLIP)
def test_an_operator_prints_a_pick_lists_slips_and_labels_on_label_stock(browser, live_server, language):
    warehouse = WarehouseFactory()
    teapot = ProductFactory(unit_price=Decimal("128.00"))
    stock(teapot, warehouse, 20, bin_location="A-1")
    service = CarrierServiceFactory(supports_cod=True)
    pool = TrackingNumberPool.objects.create(service=service)
    PooledTrackingNumber.objects.bulk_create(
        [PooledTrackingNumber(pool=pool, carrier=service.carrier, number=f"SF{n:013d}") for n in range(1, 4)]
    )
    cod = place_apart(lines=[(teapot, 2)], shipping_fee=Decimal("10.00"))
    prepaid = place_apart(lines=[(teapot, 1)], payment_method="card", paid_amount=Decimal("128.00"))
    wave = logistics.create_pick_wave(warehouse.pk, [cod.pk, prepaid.pk], actor=SYSTEM)
    page, problems = signed_in_page(browser, live_server, staff("Warehouse operator"), language)

    page.goto(f"/admin/logistics/pickwave/{wave.pk}/print/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("[data-batch-print-link]").click()
    expect(page.locator("[data-pool-levels]")).to_contain_text("3")
    page.locator("input[name=paper][value=label]").check()
    page.locator("[data-print-all]").click()

    expect(page.locator(".label")).to_have_count(2)
    expect(page.locator(".slip")).to_have_count(2)
    expect(page.locator(".slip").first).to_contain_text(SLIP[language])
    expect(page.locator(".label-cod")).to_have_count(1)
    expect(page.locator(".label-cod")).to_contain_text("266.00")
    expect(page.locator(".label-tracking").first).to_contain_text("SF0000000000001")
    width = page.locator(".label").first.bounding_box()["width"]
    assert abs(width - 100 / 25.4 * 96) < 2
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True)
    sizes = {(round(float(w)), round(float(h))) for w, h in MEDIA_BOX.findall(pdf)}
    assert sizes == {(round(100 * POINTS_PER_MM), round(150 * POINTS_PER_MM))}
    page.emulate_media(media="screen")
    assert set(Shipment.objects.values_list("label_prints", flat=True)) == {1}

    page.go_back()
    page.reload()
    page.locator(f"[data-parcel='{cod.shipments.get().pk}'] [data-reprint]").click()
    expect(page.locator(".label")).to_have_count(1)
    expect(page.locator(".label-reprint")).to_contain_text("2")
    expect(page.locator(".label-tracking")).to_contain_text(cod.shipments.get().tracking_number)
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 2
    assert problems == []
