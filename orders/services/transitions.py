"""An order's steps as core.transitions takes them, and the rewriting of its lines by hand, each
announced to the apps that follow orders (docs/architecture.md, "Events")."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.actors import Actor
from core.transitions import Step, record_transition

from ..events import ORDER_REWRITING, ORDER_STATUS_CHANGED
from ..models import Order, OrderEvent


def record_order_transition(order: Order, bound_method: Step, *, actor: Actor, reason: str = "") -> OrderEvent:
    """Take one transition of a locked order, save it, write its event and announce the step."""
    event = record_transition(order, bound_method, actor=actor, reason=reason)
    ORDER_STATUS_CHANGED.publish(order_event=event)
    return event


def rewriting(order_ids: Iterable[int]) -> Callable[[Iterable[int]], None]:
    """Announce that these locked orders are about to be rewritten; call what this returns with
    the ids of the orders concerned once the rows are written."""
    callbacks = [callback for callback in ORDER_REWRITING.publish(order_ids=list(order_ids)) if callback]

    def written(now_ids: Iterable[int]) -> None:
        now_ids = list(now_ids)
        for callback in callbacks:
            callback(now_ids)

    return written
