"""What edits and splits of an order share (docs/architecture.md, "Orders that change"): the order
locked and checked to be before picking and as the person saw it, the change written on the
order's timeline, and the apps that keep figures of orders told before and after the rewrite."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.transitions import TransitionRefused

from ..models import Order, OrderEvent
from .lifecycle import lock_order


def lock_changeable(order_id: int, *, seen_updated_at: datetime | None, doing: str) -> Order:
    """Lock an order whose lines are about to change: it must not have reached picking, and, when
    `seen_updated_at` is given (the console's forms carry it), nobody may have changed it since the
    person acting looked at it, so of two people changing one order at once the second is told."""
    order = lock_order(order_id)
    if order.status not in Order.BEFORE_PICKING:
        raise TransitionRefused(
            _("Order %(number)s is %(status)s now: it can no longer be %(doing)s.")
            % {"number": order.number, "status": order.get_status_display(), "doing": doing}
        )
    if seen_updated_at is not None and order.updated_at != seen_updated_at:
        raise TransitionRefused(
            _(
                "Order %(number)s changed while you were looking at it (see its timeline). Check it again "
                "before you act."
            )
            % {"number": order.number}
        )
    return order


def record_change(order: Order, kind: str, text: str, *, actor: Actor) -> OrderEvent:
    """One line on the order's timeline for a change that leaves its status as it is: what
    changed (`text`, in the words of the person acting) and who changed it. The rollups ignore an
    event whose status stays the same (like a partial shipment's repeats)."""
    return OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        transition=kind,
        actor=stored_user(actor),
        reason=text,
    )
