"""Planning's tables, one module per concern; import them from here."""

from .classification import (
    ClassFigure,
    ClassificationSettings,
    InventorySnapshot,
    StockFigure,
    WarehouseFigure,
)

__all__ = [
    "ClassFigure",
    "ClassificationSettings",
    "InventorySnapshot",
    "StockFigure",
    "WarehouseFigure",
]
