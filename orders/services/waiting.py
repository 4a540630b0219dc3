"""Orders that wait (docs/architecture.md, "Orders that wait"): for their payment, in the status
`awaiting_payment`, and held by hand (挂起), a flag beside the status.

An order paid first (bank transfer, instalments, or a card or e-wallet order the channel sends
unpaid) comes in awaiting payment (intake, `checks.awaits_payment`). Recording the payment that
makes it paid enough (`checks.paid_enough`: the whole total, or the first instalment) sends it
through the checks as at intake: confirmed with its stock reserved, or held for a reviewer with its
other reasons. A channel's payment time limit cancels it once it has waited too long.

A manual hold keeps the order's status and keeps it off pick lists until it is released, by a
person or, when the hold has an end, by `release_due_holds`. Both are written on the order's
timeline as events whose status stays the same (`manual_hold`, `manual_release`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import SYSTEM, Actor, ensure_actor, stored_user
from core.permissions import Orders, require
from core.transitions import TransitionRefused

from .. import locks
from ..models import Channel, IntakeSettings, NotificationEvent, Order, OrderEvent, Payment
from . import checks, deadlines, settlement
from .intake import shortage_reason
from .lifecycle import cancel, reserve_dropping_short_gifts
from .notifications import notify
from .transitions import record_order_transition

Status = Order.Status
# Reasons read again when a paid order goes through the checks: the stock and the channel's hold
# are as they are now, not as they were when the order came in.
RECHECKED = ("out_of_stock", "over_channel_share", "channel_held", "payment_mismatch")
MAX_HOLD_REASON = Order._meta.get_field("manual_hold_reason").max_length
HOLD = "manual_hold"
RELEASE = "manual_release"


# --- awaiting payment ----------------------------------------------------------------------------


@transaction.atomic
def record_payment(
    order_id: int,
    *,
    method: str,
    amount: Decimal,
    actor: Actor,
    reference: str = "",
    instalment_number: int | None = None,
    instalment_count: int | None = None,
) -> Payment:
    """Money received for an order (settlement.record_payment); an order awaiting payment that it
    makes paid enough moves on through the checks in the same transaction."""
    payment = settlement.record_payment(
        order_id,
        method=method,
        amount=amount,
        actor=actor,
        reference=reference,
        instalment_number=instalment_number,
        instalment_count=instalment_count,
    )
    order = locks.lock_order(order_id)
    if order.status == Status.AWAITING_PAYMENT and checks.paid_enough(
        method=order.payment_method, total=order.total, paid=order.amount_paid
    ):
        move_on_after_payment(order, actor=actor)
    return payment


def move_on_after_payment(order: Order, *, actor: Actor) -> OrderEvent:
    """A locked order awaiting payment is paid: the checks of intake decide again whether it is
    confirmed (its stock reserved now, unless it was reserved while it waited) or held for review.
    Its ship-by clock starts now, held or not (docs/architecture.md, "Ship-by deadlines")."""
    intake = IntakeSettings.current()
    order.dispatch_due_at = deadlines.dispatch_due(order.channel, timezone.now())
    reasons = [r for r in order.hold_reasons if r.get("code") not in RECHECKED]
    held_channels = checks.held_channels([order.channel_id])
    if order.channel_id in held_channels:
        reasons.append(checks.reason("channel_held", reason=held_channels[order.channel_id]))
    # Stock is reserved now unless it was while the order waited, or a reviewer will look first.
    notes = []
    if not checks.holds_for_review(reasons, order.risk_score, intake) and not locks.lock_reserved_allocations(order):
        lines, shortages, notes = reserve_dropping_short_gifts(order, actor=actor)
        if shortages:
            reasons.append(shortage_reason(shortages, lines))
    order.hold_reasons = reasons
    if checks.holds_for_review(reasons, order.risk_score, intake):
        # No reason of its own: the timeline shows the hold reasons under a hold.
        event = record_order_transition(order, order.hold, actor=actor)
        notify(order, NotificationEvent.ORDER_HELD)
    else:
        reason = "\n".join([_("Payment received."), *notes])
        event = record_order_transition(order, order.confirm, actor=actor, reason=reason)
        notify(order, NotificationEvent.ORDER_CONFIRMED)
    return event


def _waiting_since():
    # When intake took the order in; orders taken in before that was recorded have only placed_at.
    return Coalesce("received_at", "placed_at")


def unpaid_past_limit(*, now: datetime | None = None) -> list[int]:
    """Ids of the orders awaiting payment longer than their channel's payment time limit, oldest
    first, leaving out those held by hand (the person who held it decides). One query per channel
    that has a limit (index order_by_status)."""
    now = now or timezone.now()
    limits = Channel.objects.filter(payment_time_limit_minutes__isnull=False).values_list(
        "pk", "payment_time_limit_minutes"
    )
    found = []
    for channel_id, minutes in limits:
        found += (
            Order.objects.filter(status=Status.AWAITING_PAYMENT, channel_id=channel_id, manual_hold_at__isnull=True)
            .alias(since=_waiting_since())
            .filter(since__lte=now - timedelta(minutes=minutes))
            .values_list("pk", flat=True)
        )
    return sorted(found)


@dataclass
class UnpaidCancelled:
    """What cancelling the unpaid orders did: the numbers cancelled, and those left (paid or changed
    meanwhile) with why."""

    cancelled: list[str] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def cancel_unpaid_orders(*, now: datetime | None = None, actor: Actor = SYSTEM) -> UnpaidCancelled:
    """Cancel every order still awaiting payment past its channel's limit: each in its own
    transaction (lifecycle.cancel: the order locked, its reserved stock released, money already
    captured becomes a refund owed, the customer told), so a payment recorded meanwhile wins and
    the order is left as it is now."""
    ensure_actor(actor)
    now = now or timezone.now()
    result = UnpaidCancelled()
    limits = dict(Channel.objects.values_list("pk", "payment_time_limit_minutes"))
    for order_id in unpaid_past_limit(now=now):
        try:
            with transaction.atomic():
                order = locks.lock_order(order_id)
                minutes = limits.get(order.channel_id)
                if order.status != Status.AWAITING_PAYMENT or order.is_manually_held or minutes is None:
                    result.skipped[order_id] = order.get_status_display()
                    continue
                reason = _("Not paid within %(minutes)s minutes: the channel's payment time limit.") % {
                    "minutes": minutes
                }
                cancel(order_id, actor=actor, reason=reason, expected_status=Status.AWAITING_PAYMENT)
        except (TransitionRefused, ValidationError) as refusal:
            result.skipped[order_id] = str(refusal)
        else:
            result.cancelled.append(order.number)
    return result


# --- manual hold ---------------------------------------------------------------------------------


@dataclass
class HoldOutcome:
    """Orders held or released (their numbers), and those refused, by number, with why."""

    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _hold_reason(reason):
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the orders are held; it is shown on the order and its pick list.")})
    if len(reason) > MAX_HOLD_REASON:
        raise ValidationError({"reason": _("Use at most %(max)d characters.") % {"max": MAX_HOLD_REASON}})
    return reason


def _hold_until(until, now):
    if until is None:
        return None
    if not isinstance(until, datetime):
        raise ValidationError({"until": _("Enter a date and time.")})
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    if until <= now:
        raise ValidationError({"until": _("The hold must end in the future, or leave the date empty.")})
    return until


def _timeline(order, transition, actor, reason, at):
    # The status stays: the event says what happened beside it (the rollups ignore such events).
    return OrderEvent(
        order=order,
        from_status=order.status,
        to_status=order.status,
        transition=transition,
        actor=stored_user(actor),
        reason=reason,
        created_at=at,
    )


@transaction.atomic
def hold_orders(order_ids: Iterable[int], *, reason: str, actor: Actor, until: datetime | None = None) -> HoldOutcome:
    """Hold orders by hand with `reason`, until someone releases them or, with `until`, until then:
    they keep their status but cannot go on a pick list. Orders already on a pick list, finished,
    or held already are refused, each with why; the orders are locked in ascending id."""
    require(actor, Orders.HOLD_ORDER, _("Your role may not hold orders."))
    now = timezone.now()
    reason = _hold_reason(reason)
    until = _hold_until(until, now)
    result, events = HoldOutcome(), []
    for order in locks.lock_orders(order_ids):
        if order.status not in Order.BEFORE_PICKING:
            result.refused[order.number] = _(
                "Order %(number)s is %(status)s: only orders not yet on a pick list can be held."
            ) % {"number": order.number, "status": order.get_status_display()}
            continue
        if order.is_manually_held:
            result.refused[order.number] = _("Order %(number)s is already held by hand: %(reason)s") % {
                "number": order.number,
                "reason": order.manual_hold_reason,
            }
            continue
        order.manual_hold_reason, order.manual_hold_until = reason, until
        order.manual_hold_at, order.manual_hold_by = now, stored_user(actor)
        order.save(
            update_fields=["manual_hold_reason", "manual_hold_until", "manual_hold_at", "manual_hold_by", "updated_at"]
        )
        text = reason
        if until is not None:
            text = _("%(reason)s (until %(until)s)") % {
                "reason": reason,
                "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M"),
            }
        events.append(_timeline(order, HOLD, actor, text, now))
        result.done.append(order.number)
    OrderEvent.objects.bulk_create(events)
    return result


@transaction.atomic
def release_orders(order_ids: Iterable[int], *, actor: Actor, reason: str = "") -> HoldOutcome:
    """Release orders held by hand: they may go on a pick list again. Orders not held are refused
    with why; the orders are locked in ascending id."""
    require(actor, Orders.HOLD_ORDER, _("Your role may not release held orders."))
    result = HoldOutcome()
    orders = locks.lock_orders(order_ids)
    for order in orders:
        if not order.is_manually_held:
            result.refused[order.number] = _("Order %(number)s is not held by hand.") % {"number": order.number}
    _release([order for order in orders if order.is_manually_held], actor, (reason or "").strip(), result)
    return result


def _release(orders, actor, reason, result):
    now, events = timezone.now(), []
    for order in orders:
        text = _("Released (held because: %(reason)s).") % {"reason": order.manual_hold_reason}
        if reason:
            text = f"{text} {reason}"
        order.manual_hold_reason, order.manual_hold_until = "", None
        order.manual_hold_at, order.manual_hold_by = None, None
        order.save(
            update_fields=["manual_hold_reason", "manual_hold_until", "manual_hold_at", "manual_hold_by", "updated_at"]
        )
        events.append(_timeline(order, RELEASE, actor, text, now))
        result.done.append(order.number)
    OrderEvent.objects.bulk_create(events)


@transaction.atomic
def release_due_holds(*, now: datetime | None = None) -> HoldOutcome:
    """Release every hold whose end has come (manage.py release_order_holds, by cron), as the
    system, the orders locked in ascending id (index order_manual_hold_ends)."""
    now = now or timezone.now()
    due = Order.objects.filter(Q(manual_hold_until__lte=now), manual_hold_at__isnull=False).values_list("pk", flat=True)
    result = HoldOutcome()
    orders = [
        order
        for order in locks.lock_orders(list(due))
        if order.is_manually_held and order.manual_hold_until and order.manual_hold_until <= now
    ]
    _release(orders, SYSTEM, _("The hold's end date came."), result)
    return result
