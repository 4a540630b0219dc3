"""Planning's console pages; one module per concern, registered on import."""

from . import replenishment  # noqa: F401
