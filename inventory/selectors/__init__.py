"""Inventory's reads for the console, the API and the apps above; one module per concern."""

from .counts import VarianceRow, blind_lines, sessions_with_progress, variance_report
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
    "products_by_sku",
    "products_with_available_stock",
    "sessions_with_progress",
    "transfers_with_units",
    "variance_report",
]
