"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock), one
module per concern; import them from here."""

from .stock import (
    AbcClass,
    BundleComponent,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)

__all__ = [
    "AbcClass",
    "BundleComponent",
    "Product",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
