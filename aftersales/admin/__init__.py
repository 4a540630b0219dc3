"""The after-sales console: returns (with exchanges and repairs), complaint tickets, feedback."""

from . import feedback, returns, tickets  # noqa: F401  (each registers its ModelAdmins)
