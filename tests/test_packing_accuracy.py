"""The dashboard's staff table: each packer's accuracy (scans the packing station refused per
hundred units of the parcels they closed) and speed (those units per hour, from each parcel's first
scan to its closing), over the period and, with a warehouse chosen, only there."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics import selectors
from analytics.selectors import Filters, Period
from analytics.services import shop_zone
from logistics import services as logistics
from logistics.models import PackingScanRefusal, Shipment
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place_apart, staff, stock

pytestmark = pytest.mark.django_db

WEEK = Period(date(2025, 3, 8), date(2025, 3, 14))
WEEK_QUERY = {"range": "custom", "start": "2025-03-08", "end": "2025-03-14"}


def at(day, hour, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=shop_zone())


def packed_parcel(warehouse, units, packer, *, started, closed, refused=(), refused_at=None):
    """A parcel of `units` units packed by `packer` from `started` (None: before the first scan was
    kept) to `closed`, with the codes in `refused` refused to them at `refused_at` (else `closed`)."""
    product = ProductFactory()
    stock(product, warehouse, units)
    order = place_apart(lines=[(product, units)])
    pick_all(order)
    parcel = order.shipments.get()
    for code in refused:
        logistics.scan_item(parcel.pk, code, actor=packer)
    logistics.scan_item(parcel.pk, f"{units}*{product.sku}", actor=packer)
    logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=packer)
    Shipment.objects.filter(pk=parcel.pk).update(packing_started_at=started, packed_at=closed)
    PackingScanRefusal.objects.filter(shipment_id=parcel.pk).update(scanned_at=refused_at or closed)
    return parcel


@pytest.fixture
def packing_week():
    east, south = WarehouseFactory(code="E"), WarehouseFactory(code="S")
    li, wang = staff("Warehouse operator", first_name="Li"), staff("Warehouse operator", first_name="Wang")
    # Li: 13 units in 6 minutes with 2 refused scans, and 7 units in the south in 4 minutes.
    packed_parcel(east, 13, li, started=at(10, 10), closed=at(10, 10, 6), refused=["NOPE", "WRONG"])
    packed_parcel(south, 7, li, started=at(11, 9), closed=at(11, 9, 4))
    # Wang: 5 units packed before first scans were kept, and a parcel and a refusal outside the week.
    packed_parcel(east, 5, wang, started=None, closed=at(12, 15))
    packed_parcel(east, 9, wang, started=at(7, 15), closed=at(7, 16), refused=["X"])
    packed_parcel(east, 3, wang, started=at(13, 8), closed=at(13, 8, 1), refused=["Y"], refused_at=at(15, 8))
    return {"east": east, "south": south, "li": li, "wang": wang}


def test_each_packer_gets_refused_scans_per_hundred_units_and_units_per_hour(packing_week):
    people = {row.name: row for row in selectors.staff(Filters(WEEK))}

    li, wang = people["Li"], people["Wang"]
    # 2 refused over 20 units; 20 units in 10 minutes.
    assert (li.packing.units, li.packing.refused_scans) == (20, 2)
    assert (li.refused_per_hundred_units, li.units_per_hour) == (Decimal("10.0"), Decimal("120.0"))
    # 8 units, none refused in the week; 3 of them timed, in one minute.
    assert (wang.packing.units, wang.packing.timed_units, wang.packing.refused_scans) == (8, 3, 0)
    assert (wang.refused_per_hundred_units, wang.units_per_hour) == (Decimal("0.0"), Decimal("180.0"))


def test_with_a_warehouse_chosen_only_its_parcels_and_refusals_count(packing_week):
    people = {row.name: row for row in selectors.staff(Filters(WEEK, warehouse_id=packing_week["south"].pk))}

    assert (people["Li"].packing.units, people["Li"].packing.refused_scans) == (7, 0)
    assert people["Li"].units_per_hour == Decimal("105.0")
    assert "Wang" not in people


def test_a_packer_with_refusals_but_nothing_packed_has_no_rate():
    warehouse, packer = WarehouseFactory(), staff("Warehouse operator", first_name="Zhao")
    product = ProductFactory()
    stock(product, warehouse, 1)
    order = place_apart(lines=[(product, 1)])
    pick_all(order)
    logistics.scan_item(order.shipments.get().pk, "NOPE", actor=packer)
    PackingScanRefusal.objects.update(scanned_at=at(9, 9))

    (row,) = selectors.staff(Filters(WEEK))

    assert (row.name, row.packing.refused_scans, row.refused_per_hundred_units, row.units_per_hour) == (
        "Zhao",
        1,
        None,
        None,
    )


def test_the_dashboard_shows_accuracy_and_speed_in_the_staff_table(client, packing_week):
    client.force_login(staff("Manager"))

    page = client.get(reverse("admin:index"), WEEK_QUERY).content.decode()

    assert "Refused scans per 100 units packed" in page and "Units packed per hour" in page
    assert "10.0" in page and "120.0" in page and "180.0" in page
