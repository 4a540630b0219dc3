"""Planning's reads; one module per concern."""

from .replenishment import (
    Offer,
    incoming_quantities,
    run_out_warnings,
    suggestions,
    suggestions_by_id,
    supplier_offers,
)
from .sales import DEMAND_DAYS, demand_sql, sales_window, sold_units_sql, units_sold

__all__ = [
    "DEMAND_DAYS",
    "Offer",
    "demand_sql",
    "incoming_quantities",
    "run_out_warnings",
    "sales_window",
    "sold_units_sql",
    "suggestions",
    "suggestions_by_id",
    "supplier_offers",
    "units_sold",
]
