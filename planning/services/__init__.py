"""Planning's use cases, one module per concern (docs/architecture.md, "Rooms inside an app")."""

from .classification import Thresholds, classify, recompute_classification, update_classification_settings

__all__ = ["Thresholds", "classify", "recompute_classification", "update_classification_settings"]
