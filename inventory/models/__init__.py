"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock),
transfers between warehouses (transfers) and count sessions (counts), one module per concern;
import them from here."""

from .counts import CountLine, CountSession, CountSettings
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
    "CountLine",
    "CountSession",
    "CountSettings",
    "Product",
    "StockLevel",
    "StockMovement",
    "Transfer",
    "TransferLine",
    "Warehouse",
]
