"""The dashboard's staff table: each packer's accuracy (scans the packing station refused per
hundred units of the parcels they closed) and speed (those units per hour, from each parcel's first
scan to its closing), over the period and, with a warehouse chosen, only there. Read from the
DailyPacking rollup, which the packing service's announcements keep (a parcel packed, a scan
refused) and `rebuild_rollups` recomputes from the parcels and the kept refusals."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from io import BytesIO

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from analytics import dashboard, selectors, services
from analytics.models import DailyPacking
from analytics.selectors import Filters, Period
from analytics.services import shop_zone
from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import PackingScanRefusal, Shipment
from orders import services as orders
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, advance, pick_all, place, place_apart, staff, stock

pytestmark = pytest.mark.django_db

WEEK = Period(date(2025, 3, 8), date(2025, 3, 14))
WEEK_QUERY = {"range": "custom", "start": "2025-03-08", "end": "2025-03-14"}


@pytest.fixture
def counted(django_capture_on_commit_callbacks):
    """Runs what the block commits, rollup writes included (the test's own transaction never commits)."""
    return partial(django_capture_on_commit_callbacks, execute=True)


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
    # The times above were written into the records after the fact: the rollups are recomputed
    # from them, as the nightly rebuild does.
    services.rebuild()
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


def test_a_packer_with_refusals_but_nothing_packed_has_no_rate(counted):
    warehouse, packer = WarehouseFactory(), staff("Warehouse operator", first_name="Zhao")
    product = ProductFactory()
    stock(product, warehouse, 1)
    order = place_apart(lines=[(product, 1)])
    pick_all(order)
    with counted():
        logistics.scan_item(order.shipments.get().pk, "NOPE", actor=packer)
    today = timezone.localdate()

    (row,) = selectors.staff(Filters(Period(today, today)))

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


def test_the_staff_table_is_translated(client, packing_week):
    client.force_login(staff("Manager"))
    client.cookies["django_language"] = "zh-hans"

    page = client.get(reverse("admin:index"), WEEK_QUERY, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert '<html lang="zh-hans"' in page
    assert "120.0" in page and "180.0" in page


def test_the_excel_staff_sheet_has_accuracy_and_speed_as_numbers(client, packing_week):
    client.force_login(staff("Manager"))

    response = client.get(reverse("admin:analytics_dashboard_export", args=["staff"]), WEEK_QUERY)

    sheet = load_workbook(BytesIO(response.content)).active
    people = {row[0].value: row for row in sheet.iter_rows(min_row=5)}
    columns = [str(column.label) for column in dashboard.staff_section(Filters(WEEK)).table.columns]
    accuracy = columns.index("Refused scans per 100 units packed")
    speed = columns.index("Units packed per hour")
    assert (people["Li"][accuracy].value, people["Li"][speed].value) == (10, 120)
    assert people["Li"][accuracy].number_format == "#,##0.0"
    assert people["Wang"][speed].value == 180


def test_the_packers_figures_cost_one_query_however_many_parcels(client, packing_week):
    client.force_login(staff("Manager"))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:index"), WEEK_QUERY).status_code == 200
        return len(captured)

    few = queries()
    packed_parcel(packing_week["east"], 4, packing_week["li"], started=at(12, 9), closed=at(12, 9, 2), refused=["Z"])
    services.rebuild()

    assert queries() == few
    li = {row.name: row for row in selectors.staff(Filters(WEEK))}["Li"]
    assert (li.packing.units, li.packing.refused_scans) == (24, 3)


# The live path ----------------------------------------------------------------------------------


def test_packing_with_refused_scans_counts_units_time_and_refusals_as_it_happens(counted):
    warehouse, packer = WarehouseFactory(), staff("Warehouse operator", first_name="Li")
    product = ProductFactory()
    stock(product, warehouse, 6)
    order = place_apart(lines=[(product, 6)])
    pick_all(order)
    parcel = order.shipments.get()

    with counted():
        logistics.scan_item(parcel.pk, "NOT-OURS", actor=packer)
    with counted():
        logistics.scan_item(parcel.pk, f"6*{product.sku}", actor=packer)
    with counted():
        logistics.scan_item(parcel.pk, product.sku, actor=packer)
    with counted():
        logistics.finish_packing(parcel.pk, weight_kg="2", package_count=1, actor=packer)

    (row,) = DailyPacking.objects.all()
    assert (row.day, row.user_id, row.warehouse_id) == (timezone.localdate(), packer.pk, warehouse.pk)
    assert (row.units, row.timed_units, row.refused_scans) == (6, 6, 2)
    parcel.refresh_from_db()
    assert row.seconds == int((parcel.packed_at - parcel.packing_started_at).total_seconds())
    checks = services.rebuild(replace=False)
    assert {check.model.__name__: check.differing for check in checks}["DailyPacking"] == 0


def test_a_refused_scan_rolled_back_with_its_callers_transaction_counts_nothing(counted):
    warehouse, packer = WarehouseFactory(), staff("Warehouse operator")
    product = ProductFactory()
    stock(product, warehouse, 1)
    order = place_apart(lines=[(product, 1)])
    pick_all(order)

    with counted(), pytest.raises(RuntimeError), transaction.atomic():
        logistics.scan_item(order.shipments.get().pk, "NOPE", actor=packer)
        raise RuntimeError("the caller gives up")

    assert not PackingScanRefusal.objects.exists()
    assert not DailyPacking.objects.exists()


def test_a_rebuild_repairs_a_lost_refusal_count(counted):
    warehouse, packer = WarehouseFactory(), staff("Warehouse operator")
    product = ProductFactory()
    stock(product, warehouse, 1)
    order = place_apart(lines=[(product, 1)])
    pick_all(order)
    with counted():
        logistics.scan_item(order.shipments.get().pk, "NOPE", actor=packer)
    DailyPacking.objects.all().delete()

    checks = {check.model.__name__: check.differing for check in services.rebuild()}

    assert checks["DailyPacking"] == 1
    assert DailyPacking.objects.get().refused_scans == 1


def test_archiving_the_orders_leaves_the_packers_figures_as_they_were(counted):
    warehouse, packer = WarehouseFactory(), staff("Manager", first_name="Li")
    product = ProductFactory()
    stock(product, warehouse, 10)
    with counted():
        order = place(lines=[(product, 3)])
        pick_all(order, actor=packer)
        parcel = order.shipments.get()
        logistics.scan_item(parcel.pk, "NOPE", actor=packer)
        for _ in range(3):
            logistics.scan_item(parcel.pk, product.sku, actor=packer)
        logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=packer)
        order = advance(order, "completed", actor=packer)
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=600))
    today = timezone.localdate()
    before = selectors.staff(Filters(Period(today, today)))[0].packing
    assert (before.units, before.refused_scans) == (3, 1)

    assert orders.archive_finished_orders(actor=SYSTEM) == 1
    services.rebuild()

    assert not Shipment.objects.exists() and PackingScanRefusal.objects.count() == 1
    assert selectors.staff(Filters(Period(today, today)))[0].packing == before
