"""The demand snapshot of planning: units sold per product and warehouse over 7, 30 and 90 days, the
daily variability and days of cover, read from order lines in one SQL statement."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.actors import SYSTEM
from orders import services as orders
from orders.models import Order
from planning import selectors, services
from planning.models import ProductDemand
from tests.factories import ProductFactory, WarehouseFactory, place_apart, stock

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = timezone.now().replace(microsecond=0)


def sold(product, quantity, days_ago):
    """An order of `quantity` units placed `days_ago` whole days before NOW (an hour into that day)."""
    return place_apart(lines=[(product, quantity)], placed_at=NOW - timedelta(days=days_ago, hours=1))


@pytest.fixture
def shop():
    first, second = WarehouseFactory(priority=1), WarehouseFactory(priority=2)
    steady, only_second, never_stocked = ProductFactory(), ProductFactory(), ProductFactory()
    stock(steady, first, 100)
    stock(only_second, second, 50)
    return {"first": first, "second": second, "steady": steady, "only_second": only_second, "none": never_stocked}


def demand(product, warehouse):
    return ProductDemand.objects.get(product=product, warehouse=warehouse)


def test_rates_variability_and_cover_on_a_hand_made_history(shop):
    for quantity, days_ago in [(3, 0), (5, 3), (6, 10), (9, 40)]:
        sold(shop["steady"], quantity, days_ago)

    services.recompute_demand(now=NOW)

    row = demand(shop["steady"], shop["first"])
    assert (row.units_7, row.units_30, row.units_90) == (8, 14, 23)
    assert row.daily_rate_7 == Decimal("1.143")
    assert row.daily_rate_30 == Decimal("0.467")
    assert row.daily_rate_90 == Decimal("0.256")
    # Daily units 3, 5, 6, 9 and 86 days of 0: sqrt(151/90 − (23/90)²) = 1.26983…
    assert row.daily_deviation == Decimal("1.270")
    # 100 received, 23 reserved for the orders: 77 last 77 × 30 / 14 days at the 30-day rate.
    assert row.available == 77
    assert row.days_of_cover == Decimal("165.0")


def test_cancelled_orders_and_sales_older_than_90_days_are_left_out(shop):
    sold(shop["steady"], 4, 2)
    cancelled = sold(shop["steady"], 20, 1)
    orders.cancel(cancelled.pk, actor=SYSTEM, reason="customer changed their mind")
    sold(shop["steady"], 30, 91)

    services.recompute_demand(now=NOW)

    row = demand(shop["steady"], shop["first"])
    assert (row.units_7, row.units_30, row.units_90) == (4, 4, 4)


def test_units_count_where_they_were_allocated_and_unallocated_lines_at_the_first_warehouse(shop):
    sold(shop["only_second"], 2, 1)
    short = sold(shop["none"], 3, 1)
    assert Order.objects.get(pk=short.pk).status == Order.Status.ON_HOLD

    services.recompute_demand(now=NOW)

    assert demand(shop["only_second"], shop["second"]).units_7 == 2
    assert not ProductDemand.objects.filter(product=shop["only_second"], warehouse=shop["first"]).exists()
    held = demand(shop["none"], shop["first"])
    assert (held.units_7, held.available, held.days_of_cover) == (3, 0, Decimal("0.0"))


def test_every_stocked_product_has_a_row_even_without_sales_and_never_runs_out(shop):
    services.recompute_demand(now=NOW)

    row = demand(shop["steady"], shop["first"])
    assert (row.units_90, row.daily_deviation, row.available, row.days_of_cover) == (0, 0, 100, None)


def test_a_run_replaces_the_snapshot_in_the_same_statements_whatever_the_number_of_lines(shop):
    sold(shop["steady"], 1, 0)
    services.recompute_demand(now=NOW)
    with CaptureQueriesContext(connection) as few:
        services.recompute_demand(now=NOW)
    for days_ago in range(1, 30):
        sold(shop["steady"], 1, days_ago)
        sold(shop["only_second"], 1, days_ago)

    with CaptureQueriesContext(connection) as many:
        services.recompute_demand(now=NOW)

    assert len(many) == len(few)
    assert ProductDemand.objects.filter(product=shop["steady"]).count() == 1
    assert (demand(shop["steady"], shop["first"]).units_7, demand(shop["steady"], shop["first"]).units_30) == (7, 30)


def test_the_plain_aggregation_agrees_with_the_snapshot(shop):
    sold(shop["steady"], 4, 2)
    sold(shop["steady"], 6, 50)
    sold(shop["none"], 1, 5)

    services.recompute_demand(now=NOW)

    totals = selectors.units_sold(NOW)
    assert totals == {
        (row.product_id, row.warehouse_id): row.units_90 for row in ProductDemand.objects.filter(units_90__gt=0)
    }
