"""Inventory's reads for the console, the API and the apps above; one module per concern."""

from .counts import VarianceRow, blind_lines, sessions_with_progress, variance_report
from .purchasing import (
    on_order_quantities,
    overdue_purchase_orders,
    purchase_order_total,
    supplier_product,
    with_totals,
)
from .stock import (
    KeepBack,
    available_stock_of,
    bundle_availability,
    bundle_available_subquery,
    ledger_mismatches,
    low_stock,
    products_by_sku,
    products_with_available_stock,
)
from .transfers import in_transit_quantities, in_transit_to, transfers_with_units

__all__ = [
    "KeepBack",
    "VarianceRow",
    "available_stock_of",
    "blind_lines",
    "bundle_availability",
    "bundle_available_subquery",
    "in_transit_quantities",
    "in_transit_to",
    "ledger_mismatches",
    "low_stock",
    "on_order_quantities",
    "overdue_purchase_orders",
    "products_by_sku",
    "products_with_available_stock",
    "purchase_order_total",
    "sessions_with_progress",
    "supplier_product",
    "transfers_with_units",
    "variance_report",
    "with_totals",
]
