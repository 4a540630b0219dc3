"""The demand snapshot: each product's sales per warehouse, rates, variability and days of cover,
written by one INSERT … SELECT over the order lines."""

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .. import locks
from ..models import ProductDemand
from ..selectors import sales

DAYS = sales.DEMAND_DAYS


def _insert_sql() -> str:
    table = ProductDemand._meta.db_table
    # The variance of the daily units over DAYS days, days without a sale being 0: E[x²] − E[x]².
    variance = f"(COALESCE(s.squares_{DAYS}, 0) * 1.0 / {DAYS} - (COALESCE(s.units_{DAYS}, 0) * 1.0 / {DAYS}) * (COALESCE(s.units_{DAYS}, 0) * 1.0 / {DAYS}))"
    available = "COALESCE(level.on_hand - level.reserved, 0)"
    return f"""
        WITH s AS ({sales.demand_sql()}),
        stocked AS (
            SELECT level.product_id, level.warehouse_id
            FROM inventory_stocklevel level
            JOIN inventory_product product ON product.id = level.product_id AND product.active
            JOIN inventory_warehouse warehouse ON warehouse.id = level.warehouse_id AND warehouse.active
        ),
        pairs AS (
            SELECT product_id, warehouse_id FROM s
            UNION
            SELECT product_id, warehouse_id FROM stocked
        )
        INSERT INTO {table} (
            product_id, warehouse_id, units_7, units_30, units_90,
            daily_rate_7, daily_rate_30, daily_rate_90, daily_deviation, on_hand, available, days_of_cover, computed_at
        )
        SELECT pairs.product_id, pairs.warehouse_id,
               COALESCE(s.units_7, 0), COALESCE(s.units_30, 0), COALESCE(s.units_{DAYS}, 0),
               ROUND(COALESCE(s.units_7, 0) * 1.0 / 7, 3),
               ROUND(COALESCE(s.units_30, 0) * 1.0 / 30, 3),
               ROUND(COALESCE(s.units_{DAYS}, 0) * 1.0 / {DAYS}, 3),
               ROUND(CASE WHEN {variance} > 0 THEN SQRT({variance}) ELSE 0 END, 3),
               COALESCE(level.on_hand, 0),
               {available},
               CASE WHEN COALESCE(s.units_30, 0) > 0 THEN ROUND({available} * 30.0 / s.units_30, 1) END,
               %(now)s
        FROM pairs
        LEFT JOIN s ON s.product_id = pairs.product_id AND s.warehouse_id = pairs.warehouse_id
        LEFT JOIN inventory_stocklevel level
               ON level.product_id = pairs.product_id AND level.warehouse_id = pairs.warehouse_id
    """


def write_demand(now: datetime) -> int:
    """Replace the demand snapshot with the sales up to `now`, inside the caller's transaction (which
    holds the planning run's lock); answers how many rows it wrote."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The daily grouping of a million lines fits in memory instead of spilling to disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DELETE FROM {ProductDemand._meta.db_table}")
        cursor.execute(_insert_sql(), sales.sales_window(now))
        return cursor.rowcount


@transaction.atomic
def recompute_demand(*, now: datetime | None = None) -> int:
    """Recompute the demand snapshot alone, as one planning run (docs/architecture.md, "Jobs")."""
    locks.lock_planning_run()
    return write_demand(now or timezone.now())
