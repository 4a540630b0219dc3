"""Planning's tables: the demand snapshot (demand) and replenishment (replenishment), one module per
concern; import them from here."""

from .demand import ProductDemand
from .replenishment import PlanningSettings, ReplenishmentSuggestion, RunOutWarning

__all__ = ["PlanningSettings", "ProductDemand", "ReplenishmentSuggestion", "RunOutWarning"]
