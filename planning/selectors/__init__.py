"""Planning's reads for the console and the workbooks, one module per concern."""

from .classification import (
    LISTED_ROWS,
    InventoryPage,
    ProductSales,
    class_figures,
    inventory_page,
    latest_snapshot,
    on_hand_moved_by_stock_level,
    product_sales,
    stock_figures,
    stock_levels,
    units_sold_by_stock_level,
    warehouse_figures,
)

__all__ = [
    "LISTED_ROWS",
    "InventoryPage",
    "ProductSales",
    "class_figures",
    "inventory_page",
    "latest_snapshot",
    "on_hand_moved_by_stock_level",
    "product_sales",
    "stock_figures",
    "stock_levels",
    "units_sold_by_stock_level",
    "warehouse_figures",
]
