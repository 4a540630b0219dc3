"""Every lock on planning's rows, in the global order (docs/architecture.md, "Lock order"): the
classification settings row first, alone, so two classifications run one after the other; then
what the classification writes in inventory (the products whose class changes, by primary key)."""

from .models import ClassificationSettings


def lock_classification_settings() -> ClassificationSettings:
    ClassificationSettings.current()
    return ClassificationSettings.objects.select_for_update().get(pk=1)
