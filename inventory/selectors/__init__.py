"""Inventory's reads for the console, the API and the apps above; one module per concern."""

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

__all__ = [
    "KeepBack",
    "available_stock_of",
    "bundle_availability",
    "bundle_available_subquery",
    "ledger_mismatches",
    "low_stock",
    "products_by_sku",
    "products_with_available_stock",
]
