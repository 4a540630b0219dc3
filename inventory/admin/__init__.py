"""Inventory's console pages; one module per concern, registered on import."""

from . import purchasing, stock  # noqa: F401
