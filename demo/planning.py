"""Replenishment in the demo shop: one planning run over the demo's sales, as the nightly
`plan_replenishment` would make it, so the replenishment page has suggestions (grouped by the
suppliers the demo has) and the front page its run-out warnings."""

from core.actors import SYSTEM
from planning import services as planning


def seed_planning(command) -> str:
    """Called by seed_demo with itself, last, when every sale and stock movement of the story is in."""
    run = planning.plan_replenishment(actor=SYSTEM, now=command.limit)
    return (
        f"demand of {run.demand_rows} products in warehouses, {run.suggestions} replenishment suggestions, "
        f"{run.warnings_raised} run-out warnings"
    )
