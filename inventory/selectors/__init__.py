"""Inventory's reads for the console, the API and the apps above; one module per concern."""

from .purchasing import on_order_quantities, overdue_purchase_orders, purchase_order_total, supplier_product
from .stock import (
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
    "available_stock_of",
    "in_transit_quantities",
    "in_transit_to",
    "bundle_availability",
    "bundle_available_subquery",
    "ledger_mismatches",
    "low_stock",
    "on_order_quantities",
    "overdue_purchase_orders",
    "products_by_sku",
    "products_with_available_stock",
    "purchase_order_total",
    "supplier_product",
    "transfers_with_units",
]
