"""Inventory's console pages; one module per concern, registered on import."""

from . import stock  # noqa: F401
