"""Stock value and gross margin on the dashboard: each order line keeps its goods' unit cost when
placed, the rollups count the revenue and cost of goods of the orders that reach delivered (live
and in `rebuild_rollups` alike), and the dashboard shows the margin against the period before and
what the goods on hand are worth per warehouse."""

from datetime import datetime
from decimal import Decimal
from functools import partial
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from analytics import dashboard, selectors, services
from analytics.models import DailyOrders
from analytics.selectors import Filters
from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import StockLevel
from orders.models import OrderLine
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_dashboard import WEEK, WEEK_QUERY, figures

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def counted(django_capture_on_commit_callbacks):
    """Runs what the block commits, rollup writes included (the test's own transaction never commits)."""
    return partial(django_capture_on_commit_callbacks, execute=True)


def assert_rollups_agree_with_the_records():
    checks = services.rebuild(replace=False)
    assert {check.model.__name__: check.differing for check in checks} == {check.model.__name__: 0 for check in checks}


def test_a_line_keeps_its_products_cost_when_placed():
    product = ProductFactory(cost=Decimal("12.34"))
    stock(product, WarehouseFactory(), 10)

    order = place(lines=[(product, 3)])
    product.cost = Decimal("20.00")
    product.save()

    assert OrderLine.objects.get(order=order).unit_cost == Decimal("12.34")


def test_the_gross_margin_counts_the_goods_of_orders_once_delivered_at_their_cost_when_placed(counted):
    cheap = ProductFactory(unit_price=Decimal("25.00"), cost=Decimal("12.34"))
    dear = ProductFactory(unit_price=Decimal("40.00"), cost=Decimal("30.00"))
    warehouse = WarehouseFactory()
    for product in (cheap, dear):
        stock(product, warehouse, 50)
    placed_at = datetime(2025, 3, 3, 10, tzinfo=SHANGHAI)

    with counted():
        delivered = place(lines=[(cheap, 3), (dear, 1)], placed_at=placed_at, phone="13900000001")
        shipped = place(lines=[(dear, 2)], placed_at=placed_at, phone="13900000002", address="文三路 2 号")
        advance(shipped, "shipped")
    row = DailyOrders.objects.get()
    assert (row.delivered_revenue, row.delivered_cost) == (Decimal("0"), Decimal("0"))

    cheap.cost = Decimal("99.00")
    cheap.save()
    with counted():
        advance(delivered, "completed")

    row.refresh_from_db()
    # 3 × 25.00 + 40.00 sold; 3 × 12.34 + 30.00 it cost when placed, whatever it costs now.
    assert (row.delivered_revenue, row.delivered_cost) == (Decimal("115.00"), Decimal("67.02"))
    assert_rollups_agree_with_the_records()


def test_key_figures_show_the_gross_margin_and_its_share_of_revenue(dashboard_week):
    found = figures(Filters(WEEK))

    # Of the week's orders only o1 (A × 2 = 50.00, A costs 10.00) is delivered so far.
    assert (found["gross_margin"].current, found["gross_margin"].previous) == (Decimal("30.00"), Decimal("0"))
    assert found["gross_margin_rate"].current == Decimal("0.6")
    assert found["gross_margin_rate"].previous is None
    assert found["gross_margin"].trend == "same"


def test_stock_value_is_on_hand_at_cost_per_warehouse_with_the_total(dashboard_week):
    north, south = dashboard_week["north"], dashboard_week["south"]
    level = StockLevel.objects.get(product=dashboard_week["c"], warehouse=south)
    inventory.adjust(stock_level_id=level.pk, change=-9, reason="broken cups", actor=SYSTEM)

    rows = dashboard.build(Filters(WEEK), keys=["stock_value"]).sections["stock_value"].table.rows

    # North: A 100 − 3 shipped, B 100 (3 reserved, still on hand); south: C 100 − 1 shipped − 9 broken.
    assert rows == [
        [f"{north.code} · 北仓", 197, Decimal("1970.00")],
        [f"{south.code} · 南仓", 90, Decimal("900.00")],
        ["All warehouses", 287, Decimal("2870.00")],
    ]
    only_south = selectors.stock_value(Filters(WEEK, warehouse_id=south.pk))
    assert [(row.on_hand, row.value) for row in only_south] == [(90, Decimal("900.00"))]


def test_the_manager_sees_gross_margin_and_stock_value_on_the_dashboard(client, dashboard_week):
    client.force_login(staff("Manager"))

    page = client.get(reverse("admin:index"), WEEK_QUERY).content.decode()

    assert 'data-figure="gross_margin"' in page and "30.00" in page
    assert "60.0 %" in page
    assert "Stock value" in page and "2,960.00" in page


def test_existing_lines_take_their_products_cost_from_the_data_migration():
    product = ProductFactory(cost=Decimal("8.50"))
    stock(product, WarehouseFactory(), 10)
    order = place(lines=[(product, 2)])
    OrderLine.objects.filter(order=order).update(unit_cost=0)

    # Found by its name, whatever number the migration gets.
    [migration] = Path(settings.BASE_DIR, "orders", "migrations").glob("*_order_line_unit_cost.py")
    import_module(f"orders.migrations.{migration.stem}").cost_of_existing_lines(apps, None)

    assert OrderLine.objects.get(order=order).unit_cost == Decimal("8.50")
