"""Inventory's console pages; one module per concern, registered on import."""

from . import counts, stock, transfers  # noqa: F401
