"""Planning's console pages; one module per concern, registered on import."""

from . import classification_settings, inventory_page, replenishment  # noqa: F401
