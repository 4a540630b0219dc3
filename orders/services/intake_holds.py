"""Holding a channel's new orders while it sends bad ones, and letting them through again
(docs/architecture.md, "Incidents"). Intake reads the hold in one query per batch
(`checks.held_channels`) and holds each new order of the channel with the hold's reason; lifting
the hold sends those orders back through the checks: an order nothing else holds is confirmed with
its stock reserved, the others stay held for a reviewer with their other reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Orders, require

from .. import locks
from ..models import Channel, IntakeSettings, NotificationEvent, Order
from . import checks
from .intake import reserve_lines_of, shortage_reason
from .notifications import notify_many
from .transitions import record_order_transition

HOLD_CODE = "channel_held"
MAX_REASON = Channel._meta.get_field("intake_held_because").max_length


@dataclass
class IntakeRelease:
    """What lifting a channel's hold did: the numbers of the orders confirmed and of those left held."""

    channel: Channel
    confirmed: list[str] = field(default_factory=list)
    still_held: list[str] = field(default_factory=list)


@transaction.atomic
def hold_channel_intake(channel_id: int, *, reason: str, actor: Actor) -> Channel:
    """Hold every new order of the channel for review, with `reason`, until the hold is lifted.
    A channel is held for one reason at a time."""
    require(actor, Orders.CHANGE_INTAKESETTINGS, _("Your role may not hold a channel's new orders."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why the channel's orders are held; reviewers see it on each order.")})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": _("Use at most %(max)d characters.") % {"max": MAX_REASON}})
    channel = locks.lock_channel(channel_id)
    if channel.intake_held_because:
        raise ValidationError(
            {
                "channel": _("New orders of %(channel)s are already held: %(reason)s")
                % {"channel": channel, "reason": channel.intake_held_because}
            }
        )
    channel.intake_held_because = reason
    channel.save(update_fields=["intake_held_because"])
    return channel


@transaction.atomic
def release_channel_intake(channel_id: int, *, actor: Actor) -> IntakeRelease:
    """Lift a channel's hold and send the orders it held back through the checks. Lifting a hold
    that is already lifted changes nothing."""
    require(actor, Orders.CHANGE_INTAKESETTINGS, _("Your role may not release a channel's new orders."))
    channel = locks.lock_channel(channel_id)
    result = IntakeRelease(channel)
    if channel.intake_held_because:
        channel.intake_held_because = ""
        channel.save(update_fields=["intake_held_because"])
    held_ids = [
        pk
        for pk, reasons in Order.objects.filter(channel=channel, status=Order.Status.ON_HOLD).values_list(
            "pk", "hold_reasons"
        )
        if any(r.get("code") == HOLD_CODE for r in reasons)
    ]
    if not held_ids:
        return result
    intake = IntakeSettings.current()
    to_confirm = []
    for order in locks.lock_orders(held_ids):
        if order.status != Order.Status.ON_HOLD:
            continue
        order.hold_reasons = [r for r in order.hold_reasons if r.get("code") != HOLD_CODE]
        if checks.holds_for_review(order.hold_reasons, order.risk_score, intake):
            order.save(update_fields=["hold_reasons", "updated_at"])
            result.still_held.append(order.number)
        else:
            to_confirm.append(order)
    lines_of = {order.pk: list(order.lines.all()) for order in to_confirm}
    reservations = reserve_lines_of([(order, lines_of[order.pk]) for order in to_confirm], actor=actor)
    confirmed = []
    for order, (_allocations, shortages) in zip(to_confirm, reservations, strict=True):
        if shortages:
            order.hold_reasons = [*order.hold_reasons, shortage_reason(shortages, lines_of[order.pk])]
            order.save(update_fields=["hold_reasons", "updated_at"])
            result.still_held.append(order.number)
            continue
        # Each step is announced, so the dashboard's rollups count these confirmations too.
        record_order_transition(
            order, order.approve, actor=actor, reason=_("Channel hold lifted: %(channel)s") % {"channel": channel}
        )
        confirmed.append(order)
        result.confirmed.append(order.number)
    notify_many((order, NotificationEvent.ORDER_CONFIRMED) for order in confirmed)
    return result
