"""Inventory's console pages; one module per concern, registered on import."""

from . import (  # noqa: F401
    counts,
    purchasing,
    stock,
    transfers,
)
