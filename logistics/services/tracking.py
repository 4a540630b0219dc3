"""What carriers and staff report about parcels on their way, up to the order's delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from core.actors import Actor, stored_user
from core.permissions import Logistics, Orders, require
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import NotificationEvent, Order

from .. import locks
from ..events import PARCEL_DELIVERED
from ..models import Shipment, TrackingEvent
from ..selectors import has_undelivered_parcels
from .interception import settle_with_tracking
from .merged_parcels import orders_of_parcel

EVENT_STEPS = {
    TrackingEvent.Status.IN_TRANSIT: "report_in_transit",
    TrackingEvent.Status.OUT_FOR_DELIVERY: "report_out_for_delivery",
    TrackingEvent.Status.EXCEPTION: "report_exception",
    TrackingEvent.Status.RETURNED: "return_to_sender",
    TrackingEvent.Status.DELIVERED: "deliver",
}
EVENT_NOTIFICATIONS = {
    TrackingEvent.Status.OUT_FOR_DELIVERY: NotificationEvent.OUT_FOR_DELIVERY,
    TrackingEvent.Status.DELIVERED: NotificationEvent.DELIVERED,
}


@transaction.atomic
def record_tracking_event(
    shipment_id: int,
    *,
    status: str,
    occurred_at: datetime,
    source: str,
    location: str = "",
    description: str = "",
    exception_kind: str = "",
    actor: Actor,
) -> tuple[TrackingEvent, bool]:
    """What a carrier reported about a parcel. The same report twice is kept once. A report moves
    the parcel on unless a later one has already arrived (carriers deliver reports out of order);
    a delivery report delivers the parcel, and the order once all its parcels are delivered."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not record tracking events."))
    return _apply_event(
        shipment_id,
        status=status,
        occurred_at=occurred_at,
        source=source,
        location=location,
        description=description,
        exception_kind=exception_kind,
        actor=actor,
    )


@transaction.atomic
def mark_delivered(shipment_id: int, *, actor: Actor) -> Shipment:
    """Staff record a delivery the carrier confirmed some other way (a phone call, a signed slip)."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not record deliveries."))
    shipment = locks.lock_shipment(shipment_id)
    # Checked under the lock: of two people recording one delivery, the second is told.
    if not can_proceed(shipment.deliver):
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s now.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    event, _created = _apply_event(
        shipment_id,
        status=TrackingEvent.Status.DELIVERED,
        occurred_at=timezone.now(),
        source=TrackingEvent.Source.CONSOLE,
        location="",
        description=_("Delivery recorded by staff"),
        exception_kind="",
        actor=actor,
    )
    return event.shipment


def _apply_event(shipment_id, *, status, occurred_at, source, location, description, exception_kind, actor):
    if status not in TrackingEvent.Status.values:
        raise ValidationError(
            {"status": _("Use one of: %(choices)s.") % {"choices": ", ".join(TrackingEvent.Status.values)}}
        )
    if occurred_at is None or timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("Give the time with its time zone.")})
    if occurred_at > timezone.now() + timedelta(hours=1):
        raise ValidationError({"occurred_at": _("This time is in the future.")})
    exception_kind = exception_kind or ""
    if status == TrackingEvent.Status.EXCEPTION and not exception_kind:
        raise ValidationError({"exception_kind": _("Say what went wrong: delayed, lost, damaged or address problem.")})
    shipment = locks.lock_shipment(shipment_id)
    if shipment.status in Shipment.OPEN + [Shipment.Status.CANCELLED]:
        raise TransitionRefused(
            _("Shipment %(shipment)s has not left the warehouse; tracking starts at dispatch.") % {"shipment": shipment}
        )
    event, created = TrackingEvent.objects.get_or_create(
        shipment=shipment,
        status=status,
        occurred_at=occurred_at,
        defaults={
            "location": (location or "")[:120],
            "description": (description or "")[:255],
            "exception_kind": exception_kind,
            "source": source,
            "recorded_by": stored_user(actor),
        },
    )
    if not created:
        return event, False
    latest = shipment.last_event_at is None or occurred_at >= shipment.last_event_at
    step = getattr(shipment, EVENT_STEPS[status])
    moves = can_proceed(step) and (latest or status == TrackingEvent.Status.DELIVERED)
    if latest:
        shipment.last_event_at = occurred_at
    if moves:
        step()
        if status == TrackingEvent.Status.EXCEPTION:
            shipment.exception_kind = exception_kind
        if status == TrackingEvent.Status.DELIVERED:
            shipment.delivered_at = occurred_at
    shipment.save()
    if moves and status in (TrackingEvent.Status.DELIVERED, TrackingEvent.Status.RETURNED):
        settle_with_tracking(shipment, reported=shipment.status, actor=actor)
    # Every order of a merged parcel is told and delivered with it.
    told = orders_of_parcel(shipment) if shipment.purpose in Shipment.CARRIES_GOODS else [shipment.order]
    if moves and status == TrackingEvent.Status.DELIVERED:
        PARCEL_DELIVERED.publish(shipment=shipment)
        _deliver_orders_when_complete(shipment, told, actor)
    if moves and status in EVENT_NOTIFICATIONS:
        for order in told:
            orders.notify(order, EVENT_NOTIFICATIONS[status], shipment=shipment)
    return event, True


def _deliver_orders_when_complete(shipment, parcel_orders, actor):
    """An order is delivered with its last parcel of goods, a replacement standing in for the lost
    parcel it replaces (docs/architecture.md, "Lost parcels"); a repair parcel arrives long after."""
    if shipment.purpose not in Shipment.CARRIES_GOODS:
        return
    for order in parcel_orders:
        if not has_undelivered_parcels(order) and order.status == Order.Status.SHIPPED:
            orders.record_delivery(order.pk, actor=actor, reason=str(shipment))
