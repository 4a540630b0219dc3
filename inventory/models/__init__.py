"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock),
transfers between warehouses (transfers), one module per concern; import them from here."""

from .stock import (
    AbcClass,
    BundleComponent,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)
from .transfers import Transfer, TransferLine

__all__ = [
    "AbcClass",
    "BundleComponent",
    "Product",
    "StockLevel",
    "StockMovement",
    "Transfer",
    "TransferLine",
    "Warehouse",
]
