"""Every lock on planning rows. A planning run locks the settings row first of all and nothing of
the order cycle after it: it only reads sales and stock and writes planning's own snapshot, so two
runs at once take turns and never wait in a circle with anything else (docs/architecture.md,
"Lock order")."""

from __future__ import annotations

from .models import PlanningSettings


def lock_planning_run() -> PlanningSettings:
    """Lock the settings row (made with its defaults the first time) for one planning run."""
    PlanningSettings.current()
    return PlanningSettings.objects.select_for_update().get(pk=1)
