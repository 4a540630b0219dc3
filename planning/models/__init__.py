"""Planning's tables: the ABC classification and the inventory page's snapshot (classification),
the demand snapshot (demand) and replenishment (replenishment), one module per concern; import them
from here."""

from .classification import (
    ClassFigure,
    ClassificationSettings,
    InventorySnapshot,
    StockFigure,
    WarehouseFigure,
)
from .demand import ProductDemand
from .replenishment import PlanningSettings, ReplenishmentSuggestion, RunOutWarning

__all__ = [
    "ClassFigure",
    "ClassificationSettings",
    "InventorySnapshot",
    "PlanningSettings",
    "ProductDemand",
    "ReplenishmentSuggestion",
    "RunOutWarning",
    "StockFigure",
    "WarehouseFigure",
]
