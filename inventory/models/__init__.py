"""Inventory's tables: the catalogue, warehouses, stock levels and the stock ledger (stock), and
buying from suppliers (purchasing), one module per concern; import them from here."""

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
    "Warehouse",
    "shop_currency",
]
