"""An order's steps as core.transitions takes them, each announced to the apps that follow orders
(docs/architecture.md, "Events")."""

from __future__ import annotations

from core.actors import Actor
from core.transitions import Step, record_transition

from ..events import ORDER_STATUS_CHANGED
from ..models import Order, OrderEvent


def record_order_transition(order: Order, bound_method: Step, *, actor: Actor, reason: str = "") -> OrderEvent:
    """Take one transition of a locked order, save it, write its event and announce the step."""
    event = record_transition(order, bound_method, actor=actor, reason=reason)
    ORDER_STATUS_CHANGED.publish(order_event=event)
    return event
