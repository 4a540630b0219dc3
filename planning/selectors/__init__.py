"""Planning's reads; one module per concern."""

from .replenishment import (
    Offer,
    active_warehouse_ids,
    inactive_product_ids,
    incoming_quantities,
    run_out_warnings,
    suggestions,
    suggestions_by_id,
    supplier_offers,
)
from .sales import (
    DEMAND_COLUMNS,
    DEMAND_DAYS,
    DemandRow,
    demand_figures_sql,
    demand_sql,
    sales_window,
    sold_units_sql,
    units_sold,
)

__all__ = [
    "DEMAND_COLUMNS",
    "DEMAND_DAYS",
    "DemandRow",
    "Offer",
    "active_warehouse_ids",
    "demand_figures_sql",
    "demand_sql",
    "inactive_product_ids",
    "incoming_quantities",
    "run_out_warnings",
    "sales_window",
    "sold_units_sql",
    "suggestions",
    "suggestions_by_id",
    "supplier_offers",
    "units_sold",
]
