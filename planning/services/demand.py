"""The demand snapshot: each product's sales per warehouse, rates, variability and days of cover,
from one SQL aggregation over the order lines (planning.selectors.sales), stored whole."""

from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from .. import locks
from ..models import ProductDemand
from ..selectors import sales

# The lines are grouped per product, warehouse and day: about as many groups as lines, so the
# planner's hash aggregation runs in one process and builds a table of a million entries. Sorting in
# parallel workers and grouping the sorted rows as they come (both levels) took a third of the
# time; what the sort needs fits in the memory given here. Compiling the statement's expressions
# (JIT) cost more than it saved.
PLANNER_SETTINGS = {
    "work_mem": "'64MB'",
    "enable_hashagg": "off",
    "parallel_setup_cost": "0",
    "parallel_tuple_cost": "0",
    "jit": "off",
}
RUN_TABLE = "planning_demand_run"
DECIMAL_PLACES = {"daily_rate_30": 3, "daily_rate_90": 3, "daily_deviation": 3, "days_of_cover": 1}


def _decimal(value, places):
    """PostgreSQL answers numeric as Decimal, SQLite as float: every figure leaves here a Decimal."""
    if value is None or isinstance(value, Decimal):
        return value
    return round(Decimal(str(value)), places)


def write_demand(now: datetime) -> list[sales.DemandRow]:
    """Replace the demand snapshot with the sales up to `now`, inside the caller's transaction (which
    holds the planning run's lock); answers the rows written, the figures as Decimals.

    On PostgreSQL the aggregation fills a temporary table first: CREATE TABLE … AS may run its
    SELECT in parallel, where an INSERT … SELECT never does."""
    table, columns = ProductDemand._meta.db_table, ", ".join(sales.DEMAND_COLUMNS)
    params = sales.sales_window(now)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        if connection.vendor == "postgresql":
            for setting, value in PLANNER_SETTINGS.items():
                cursor.execute(f"SET LOCAL {setting} = {value}")
            cursor.execute(f"CREATE TEMPORARY TABLE {RUN_TABLE} ON COMMIT DROP AS {sales.demand_figures_sql()}", params)
            source = f"SELECT {columns}, %(now)s FROM {RUN_TABLE}"
        else:
            source = f"SELECT {columns}, %(now)s FROM ({sales.demand_figures_sql()}) figures"
        cursor.execute(f"INSERT INTO {table} ({columns}, computed_at) {source} RETURNING {columns}", params)
        rows = cursor.fetchall()
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TABLE {RUN_TABLE}")
    if connection.vendor == "postgresql":
        return [sales.DemandRow(*row) for row in rows]
    return [
        sales.DemandRow(
            *(
                _decimal(value, DECIMAL_PLACES[column]) if column in DECIMAL_PLACES else value
                for column, value in zip(sales.DEMAND_COLUMNS, row, strict=True)
            )
        )
        for row in rows
    ]


@transaction.atomic
def recompute_demand(*, now: datetime | None = None) -> int:
    """Recompute the demand snapshot alone, as one planning run (docs/architecture.md, "Jobs");
    answers how many rows it wrote."""
    locks.lock_planning_run()
    return len(write_demand(now or timezone.now()))
