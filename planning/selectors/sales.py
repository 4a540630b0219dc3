"""Sales as planning reads them: units of each product sold from each warehouse, per day, in one SQL
aggregation over the order lines (never a loop over lines in Python)."""

from collections import namedtuple
from datetime import datetime, timedelta

from django.db import connection

from orders.models import Allocation, Order

DEMAND_DAYS = 90
WINDOWS = (7, 30, DEMAND_DAYS)
SECONDS_PER_DAY = 86_400


def _days_before(now_param: str, column: str) -> str:
    """SQL for the whole days between `column` and the run's moment: 0 for the last 24 hours."""
    if connection.vendor == "postgresql":
        # date_part answers in double precision: hashing and dividing numeric (extract's answer) made
        # the daily grouping of a million lines a second slower.
        return f"floor(date_part('epoch', {now_param} - {column}) / {SECONDS_PER_DAY})"
    return f"floor(julianday({now_param}) - julianday({column}))"


def sold_units_sql() -> str:
    """A SELECT of (product_id, warehouse_id, days_ago, units), one row per allocation of an order
    line placed in the last DEMAND_DAYS days (or per line with nothing allocated), for the orders
    not cancelled. Its parameters are `now` and `since` (`sales_window`).

    A line's units count where its stock was allocated (reserved or shipped; a released allocation
    was undone). A line with no live allocation (held as short, or awaiting payment without a
    reservation) counts whole at the warehouse orders are filled from first: the active one of
    lowest priority number, as `inventory.services.reserve` tries first."""
    return f"""
        SELECT line.product_id,
               COALESCE(level.warehouse_id, (
                   SELECT first_choice.id FROM inventory_warehouse first_choice
                   WHERE first_choice.active ORDER BY first_choice.priority, first_choice.code LIMIT 1
               )) AS warehouse_id,
               {_days_before("%(now)s", "sale.placed_at")} AS days_ago,
               COALESCE(allocation.quantity, line.quantity) AS units
        FROM orders_orderline line
        JOIN orders_order sale ON sale.id = line.order_id
        LEFT JOIN orders_allocation allocation
               ON allocation.line_id = line.id AND allocation.state <> '{Allocation.State.RELEASED}'
        LEFT JOIN inventory_stocklevel level ON level.id = allocation.stock_level_id
        WHERE sale.status <> '{Order.Status.CANCELLED}'
          AND sale.placed_at > %(since)s AND sale.placed_at <= %(now)s
    """


def sales_window(now: datetime) -> dict[str, object]:
    """The parameters of `sold_units_sql`, `demand_sql` and `demand_figures_sql` for a run at `now`."""
    adapt = connection.ops.adapt_datetimefield_value
    return {"now": adapt(now), "since": adapt(now - timedelta(days=DEMAND_DAYS))}


def demand_sql() -> str:
    """A SELECT of each product's sales per warehouse: (product_id, warehouse_id, units_7, units_30,
    units_90, squares_90), where squares_90 sums the squares of the daily units (for their
    variability). Units are summed per day first, then per window."""
    days = DEMAND_DAYS
    return f"""
        SELECT daily.product_id, daily.warehouse_id,
               SUM(CASE WHEN daily.days_ago < 7 THEN daily.units ELSE 0 END) AS units_7,
               SUM(CASE WHEN daily.days_ago < 30 THEN daily.units ELSE 0 END) AS units_30,
               SUM(daily.units) AS units_{days},
               SUM(daily.units * daily.units) AS squares_{days}
        FROM (
            SELECT sold.product_id, sold.warehouse_id, sold.days_ago, SUM(sold.units) AS units
            FROM ({sold_units_sql()}) sold
            GROUP BY sold.product_id, sold.warehouse_id, sold.days_ago
        ) daily
        GROUP BY daily.product_id, daily.warehouse_id
    """


def demand_figures_sql() -> str:
    """A SELECT of the demand snapshot's columns (`DEMAND_COLUMNS`), one row per product and
    warehouse that sold in the last DEMAND_DAYS days or has a stock level (of an active product in an
    active warehouse; the sales aggregation is read once, so it may run in parallel): units, rates per day, the daily units' standard deviation (days without a
    sale counted as 0: √(E[x²] − E[x]²)), on hand, available and days of cover at the 30-day rate."""
    days = DEMAND_DAYS
    mean = f"(COALESCE(s.units_{days}, 0) * 1.0 / {days})"
    variance = f"(COALESCE(s.squares_{days}, 0) * 1.0 / {days} - {mean} * {mean})"
    available = "COALESCE(level.on_hand - level.reserved, 0)"
    return f"""
        SELECT COALESCE(level.product_id, s.product_id) AS product_id,
               COALESCE(level.warehouse_id, s.warehouse_id) AS warehouse_id,
               COALESCE(s.units_7, 0) AS units_7,
               COALESCE(s.units_30, 0) AS units_30,
               COALESCE(s.units_{days}, 0) AS units_{days},
               ROUND(COALESCE(s.units_7, 0) * 1.0 / 7, 3) AS daily_rate_7,
               ROUND(COALESCE(s.units_30, 0) * 1.0 / 30, 3) AS daily_rate_30,
               ROUND({mean}, 3) AS daily_rate_{days},
               ROUND(CASE WHEN {variance} > 0 THEN SQRT({variance}) ELSE 0 END, 3) AS daily_deviation,
               COALESCE(level.on_hand, 0) AS on_hand,
               {available} AS available,
               CASE WHEN COALESCE(s.units_30, 0) > 0 THEN ROUND({available} * 30.0 / s.units_30, 1) END
                   AS days_of_cover
        FROM ({demand_sql()}) s
        FULL JOIN (
            SELECT stocked.product_id, stocked.warehouse_id, stocked.on_hand, stocked.reserved
            FROM inventory_stocklevel stocked
            JOIN inventory_product product ON product.id = stocked.product_id AND product.active
            JOIN inventory_warehouse warehouse ON warehouse.id = stocked.warehouse_id AND warehouse.active
        ) level ON level.product_id = s.product_id AND level.warehouse_id = s.warehouse_id
    """


DEMAND_COLUMNS = (
    "product_id",
    "warehouse_id",
    "units_7",
    "units_30",
    "units_90",
    "daily_rate_7",
    "daily_rate_30",
    "daily_rate_90",
    "daily_deviation",
    "on_hand",
    "available",
    "days_of_cover",
)


DemandRow = namedtuple("DemandRow", DEMAND_COLUMNS)


def units_sold(now: datetime, *, days: int = DEMAND_DAYS) -> dict[tuple[int, int], int]:
    """Units sold per (product id, warehouse id) over the last `days` days (at most DEMAND_DAYS):
    the plain aggregation of the same sales, as a reader that wants only the totals runs it."""
    sql = f"""
        SELECT sold.product_id, sold.warehouse_id, SUM(sold.units)
        FROM ({sold_units_sql()}) sold
        WHERE sold.days_ago < %(days)s
        GROUP BY sold.product_id, sold.warehouse_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {**sales_window(now), "days": days})
        return {(product_id, warehouse_id): int(units) for product_id, warehouse_id, units in cursor.fetchall()}
