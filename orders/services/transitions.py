"""An order's steps as core.transitions takes them, each announced to the apps that follow orders
(docs/architecture.md, "Events")."""

from core.transitions import record_transition

from ..events import ORDER_STATUS_CHANGED


def record_order_transition(order, bound_method, *, actor, reason=""):
    """Take one transition of a locked order, save it, write its event and announce the step."""
    event = record_transition(order, bound_method, actor=actor, reason=reason)
    ORDER_STATUS_CHANGED.publish(order_event=event)
    return event
