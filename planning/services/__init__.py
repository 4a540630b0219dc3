"""Planning's use cases, one transaction each; one module per concern."""

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
    "buyers_to_tell",
    "figures",
    "order_suggestions",
    "plan_replenishment",
    "recompute_demand",
    "service_level_z",
    "tell_buyers",
    "transfer_suggestions",
    "write_demand",
]
