"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock), buying
from suppliers (purchasing), transfers between warehouses (transfers), one module per concern;
import them from here."""

from .purchasing import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchasingSettings,
    Supplier,
    SupplierProduct,
    shop_currency,
)
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
    "PurchaseOrder",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "PurchasingSettings",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierProduct",
    "Transfer",
    "TransferLine",
    "Warehouse",
    "shop_currency",
]
