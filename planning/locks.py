"""Every lock on planning's rows, in the global order (docs/architecture.md, "Lock order"). Each of
planning's runs locks its settings row first of all, so two runs of one kind take turns: the
classification then locks what it writes in inventory (the products whose class changes, by primary
key); a replenishment run reads sales and stock and writes planning's own snapshot, locking nothing
of the order cycle after its row. Neither waits in a circle with anything else."""

from __future__ import annotations

from .models import ClassificationSettings, PlanningSettings


def lock_classification_settings() -> ClassificationSettings:
    ClassificationSettings.current()
    return ClassificationSettings.objects.select_for_update().get(pk=1)


def lock_planning_run() -> PlanningSettings:
    """Lock the settings row (made with its defaults the first time) for one planning run."""
    PlanningSettings.current()
    return PlanningSettings.objects.select_for_update().get(pk=1)
