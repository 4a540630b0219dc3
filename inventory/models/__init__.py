"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock), one
module per concern; import them from here."""

from .stock import (
    BundleComponent,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)

__all__ = [
    "BundleComponent",
    "Product",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
