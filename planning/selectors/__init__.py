"""Planning's reads; one module per concern."""

from .sales import DEMAND_DAYS, demand_sql, sales_window, sold_units_sql, units_sold

__all__ = ["DEMAND_DAYS", "demand_sql", "sales_window", "sold_units_sql", "units_sold"]
