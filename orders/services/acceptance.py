"""The acceptance window: a delivered order becomes completed once the customer has had
settings.ACCEPTANCE_WINDOW_DAYS to complain or send something back and has not.

What counts as "something still open" belongs to the apps above orders (returns, complaints), which
orders may not import: they subscribe to orders.events.COMPLETION_BLOCKERS in their
AppConfig.ready(), each with a function returning a Q over Order that matches the orders it holds
back (docs/architecture.md, "Events").

A cash-on-delivery order also waits for its money: delivered, the carrier holds the cash until its
remittance is recorded, and an order completed before that would leave the orders a finance team
still has to chase (docs/architecture.md, "Cash-on-delivery remittance")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import SYSTEM

from ..events import COMPLETION_BLOCKERS
from ..models import Order, OrderEvent, PaymentMethod
from .lifecycle import complete, lock_order


def acceptance_cutoff(now: datetime | None = None) -> datetime:
    """Orders delivered before this moment are past the acceptance window."""
    return (now or timezone.now()) - timedelta(days=settings.ACCEPTANCE_WINDOW_DAYS)


def _held_back():
    held = Q(payment_method=PaymentMethod.COD, amount_paid__lt=F("total"))
    for blocker in COMPLETION_BLOCKERS.publish():
        held |= blocker
    return held


def delivered_before(cutoff: datetime) -> QuerySet[Order]:
    return Order.objects.filter(status=Order.Status.DELIVERED, delivered_at__lt=cutoff)


def due_for_completion(cutoff: datetime) -> QuerySet[Order]:
    """Delivered orders past the window that nothing holds back."""
    return delivered_before(cutoff).exclude(pk__in=Order.objects.filter(_held_back()).values("pk"))


def held_back_from_completion(cutoff: datetime) -> QuerySet[Order]:
    """Delivered orders past the window that a subscribed blocker holds back."""
    return delivered_before(cutoff).filter(pk__in=Order.objects.filter(_held_back()).values("pk"))


@transaction.atomic
def complete_if_accepted(order_id: int, *, cutoff: datetime) -> OrderEvent | None:
    """Complete one order for the system if, now that it is locked, it is still due:
    a return opened a moment ago, or someone completing it by hand, is respected. Returns the
    order event, or None when it was no longer due."""
    lock_order(order_id)
    if not due_for_completion(cutoff).filter(pk=order_id).exists():
        return None
    return complete(
        order_id,
        actor=SYSTEM,
        expected_status=Order.Status.DELIVERED,
        reason=_("The acceptance window passed without a return or complaint."),
    )


@dataclass
class CompletionRun:
    completed: int = 0
    skipped: int = 0
    held_back: int = 0


def complete_delivered_orders(*, now: datetime | None = None, batch_size: int = 500) -> CompletionRun:
    """Complete every order delivered longer ago than the acceptance window that nothing holds
    back, each in its own transaction so one failure does not undo the rest; running it again
    finds nothing more to do. Orders are taken in batches by id, so a long backlog never sits in
    memory at once."""
    cutoff = acceptance_cutoff(now)
    run = CompletionRun(held_back=held_back_from_completion(cutoff).count())
    last_id = 0
    while True:
        batch = list(
            due_for_completion(cutoff).filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return run
        for order_id in batch:
            if complete_if_accepted(order_id, cutoff=cutoff) is None:
                run.skipped += 1
            else:
                run.completed += 1
        last_id = batch[-1]
