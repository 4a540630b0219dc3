"""Planning's use cases, one transaction each; one module per concern (docs/architecture.md, "Rooms
inside an app")."""

from .classification import Thresholds, classify, recompute_classification, update_classification_settings
from .demand import recompute_demand, write_demand
from .replenishment import (
    Figures,
    PlanningRun,
    buyers_to_tell,
    figures,
    order_suggestions,
    plan_replenishment,
    service_level_z,
    tell_buyers,
    transfer_suggestions,
)

__all__ = [
    "Figures",
    "PlanningRun",
    "Thresholds",
    "buyers_to_tell",
    "classify",
    "figures",
    "order_suggestions",
    "plan_replenishment",
    "recompute_classification",
    "recompute_demand",
    "service_level_z",
    "tell_buyers",
    "transfer_suggestions",
    "update_classification_settings",
    "write_demand",
]
