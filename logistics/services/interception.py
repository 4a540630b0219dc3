"""Interception (物流拦截): a coordinator asks the carrier to stop a parcel on its way and bring it
back, after its order was cancelled or refunded without return, and records the carrier's answer
(docs/architecture.md, "Interception and parcels that come back").

A shipped order could not be cancelled before this: `Order.CANCELLABLE` stops at packed. Asking
for interception with the reason "order cancelled after dispatch" is that cancellation; the order
stays shipped until its parcel is back at the warehouse (returned_parcels.receive_parcel_back),
when it is closed as returned, or it is delivered anyway.

Every step locks the parcel's orders first, then settles money (payments, refunds), then locks the
parcel, in the global lock order: a carrier's delivery report takes the same order lock first, so
of an interception request and a delivery arriving at the same moment one waits for the other and
sees what it did."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from core.actors import Actor, stored_user
from core.permissions import Logistics, require
from core.transitions import TransitionRefused
from orders import services as orders

from .. import locks
from ..models import Interception, InterceptionSettings, Shipment
from .merged_parcels import orders_of_parcel

CENT = Decimal("0.01")
NOTE_LENGTH = Interception._meta.get_field("note").max_length
REFERENCE_LENGTH = Interception._meta.get_field("carrier_reference").max_length


def _short_datetime(moment):
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _require_interception(actor):
    require(actor, Logistics.REQUEST_INTERCEPTION, _("Your role may not ask carriers to intercept parcels."))


def _text(value, field, max_length):
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationError({field: _("Keep it to %(count)s characters at most.") % {"count": max_length}})
    return value


def _fee(value):
    if value in (None, ""):
        return None
    try:
        fee = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"fee": _("Enter the fee as an amount such as 12.50.")}) from None
    if not fee.is_finite() or fee < 0:
        raise ValidationError({"fee": _("Enter a fee of zero or more.")})
    if fee != fee.quantize(CENT):
        raise ValidationError({"fee": _("Enter the fee to the cent at most.")})
    if fee >= Decimal("100000000"):
        raise ValidationError({"fee": _("This fee is too large.")})
    return fee.quantize(CENT)


def _parcel(shipment_id):
    try:
        orders_locked = locks.lock_parcel_orders(shipment_id)
    except Shipment.DoesNotExist:
        raise ValidationError({"shipment": _("There is no shipment %(id)s.") % {"id": shipment_id}}) from None
    # Read under its orders' locks: every step that moves a parcel on its way takes them first.
    shipment = Shipment.objects.select_related("order", "carrier").get(pk=shipment_id)
    return orders_locked, shipment


def under_way(shipment: Shipment) -> Interception | None:
    """The parcel's interception requested or intercepted, if any."""
    return shipment.interceptions.filter(status__in=Interception.UNDER_WAY).first()


def _refuse_not_on_the_way(shipment):
    if shipment.status == Shipment.Status.DELIVERED:
        raise TransitionRefused(
            _(
                "Shipment %(shipment)s was delivered at %(time)s: it can no longer be intercepted. "
                "Open a return or refund the order instead."
            )
            % {"shipment": shipment, "time": _short_datetime(shipment.delivered_at)}
        )
    if shipment.status in (Shipment.Status.RETURNED, Shipment.Status.RECEIVED_BACK):
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s already: there is nothing to intercept.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    raise TransitionRefused(
        _("Shipment %(shipment)s has not left the warehouse: cancel its order instead.") % {"shipment": shipment}
    )


@transaction.atomic
def request_interception(
    shipment_id: int, *, reason: str, actor: Actor, note: str = "", carrier_reference: str = ""
) -> Interception:
    """Ask the carrier to stop a parcel on its way. The refund of what was paid is requested now
    or once the parcel is back, as the interception settings say (an order refunded without return
    has its refund already; only what no refund covers is asked for)."""
    _require_interception(actor)
    if reason not in Interception.Reason.values:
        raise ValidationError({"reason": _("Say why: the order was cancelled, or refunded without return.")})
    note = _text(note, "note", NOTE_LENGTH)
    carrier_reference = _text(carrier_reference, "carrier_reference", REFERENCE_LENGTH)
    _orders, shipment = _parcel(shipment_id)
    if shipment.purpose != Shipment.Purpose.ORDER:
        raise TransitionRefused(
            _("Shipment %(shipment)s carries repaired goods back to the customer; it is not intercepted.")
            % {"shipment": shipment}
        )
    if shipment.status not in Shipment.ON_THE_WAY:
        _refuse_not_on_the_way(shipment)
    existing = under_way(shipment)
    if existing is not None:
        raise TransitionRefused(
            _("Interception of %(shipment)s was requested at %(time)s already.")
            % {"shipment": shipment, "time": _short_datetime(existing.requested_at)}
        )
    waits = InterceptionSettings.current().refund_waits_for_parcel
    parcel_orders = orders_of_parcel(shipment)
    text = _("Interception of %(shipment)s requested: %(reason)s") % {
        "shipment": shipment,
        "reason": Interception.Reason(reason).label,
    }
    if note:
        text = f"{text}. {note}"
    if not waits:
        for order in parcel_orders:
            orders.request_refunds_owed(order, actor=actor, reason=text)
    locks.lock_shipment_of_locked_orders(shipment.pk)
    interception = Interception.objects.create(
        shipment=shipment,
        reason=reason,
        note=note,
        carrier_reference=carrier_reference,
        refund_waits=waits,
        requested_by=stored_user(actor),
    )
    for order in parcel_orders:
        orders.record_change(order, "interception", text, actor=actor)
    return interception


@transaction.atomic
def record_interception_outcome(
    interception_id: int,
    *,
    intercepted: bool,
    actor: Actor,
    fee: Decimal | str | None = None,
    carrier_reference: str = "",
    note: str = "",
) -> Interception:
    """The carrier's answer. Intercepted: the parcel is on its way back (returned to sender).
    Failed: it goes on to the customer, and the order waits for a return or refund decision."""
    _require_interception(actor)
    fee = _fee(fee)
    carrier_reference = _text(carrier_reference, "carrier_reference", REFERENCE_LENGTH)
    note = _text(note, "outcome_note", Interception._meta.get_field("outcome_note").max_length)
    shipment_id = Interception.objects.filter(pk=interception_id).values_list("shipment_id", flat=True).first()
    if shipment_id is None:
        raise ValidationError(_("There is no interception %(id)s.") % {"id": interception_id})
    _orders, shipment = _parcel(shipment_id)
    shipment = locks.lock_shipment_of_locked_orders(shipment_id)
    interception = Interception.objects.get(pk=interception_id)
    if interception.status != Interception.Status.REQUESTED:
        raise TransitionRefused(
            _("Interception of %(shipment)s is %(status)s already (%(time)s).")
            % {
                "shipment": shipment,
                "status": interception.get_status_display(),
                "time": _short_datetime(interception.answered_at),
            }
        )
    if intercepted and not can_proceed(shipment.return_to_sender):
        _refuse_not_on_the_way(shipment)
    if intercepted:
        shipment.return_to_sender()
        shipment.save()
        interception.intercept()
    else:
        interception.fail()
    interception.fee = fee if fee is not None else interception.fee
    interception.carrier_reference = carrier_reference or interception.carrier_reference
    interception.outcome_note = note
    interception.answered_by = stored_user(actor)
    interception.save()
    _tell_orders(shipment, interception, actor)
    return interception


def _tell_orders(shipment, interception, actor):
    if interception.status == Interception.Status.INTERCEPTED:
        text = _("Parcel %(shipment)s intercepted: it is coming back.") % {"shipment": shipment}
    else:
        text = _(
            "Interception of %(shipment)s failed: the parcel goes on to the customer. Decide on a return or a refund."
        ) % {"shipment": shipment}
    if interception.outcome_note:
        text = f"{text} {interception.outcome_note}"
    for order in orders_of_parcel(shipment):
        orders.record_change(order, "interception", text, actor=actor)


def settle_with_tracking(shipment: Shipment, *, reported: str, actor: Actor) -> None:
    """A carrier's report moved a locked parcel with an interception requested: returned means
    intercepted, delivered means it failed (delivered before it could be stopped). Called by
    tracking under the parcel's lock."""
    interception = shipment.interceptions.filter(status=Interception.Status.REQUESTED).first()
    if interception is None:
        return
    if reported == Shipment.Status.RETURNED:
        interception.intercept()
    else:
        interception.fail()
        interception.outcome_note = _("Delivered before it could be intercepted.")[
            : Interception._meta.get_field("outcome_note").max_length
        ]
    interception.answered_by = stored_user(actor)
    interception.save()
    _tell_orders(shipment, interception, actor)


@transaction.atomic
def decide_after_failed_interception(interception_id: int, *, decision: str, actor: Actor) -> Interception:
    """The parcel was delivered anyway: record what was agreed (a return opened, the refund kept or
    withdrawn), which takes it off the queue of failed interceptions."""
    _require_interception(actor)
    decision = _text(decision, "decision", Interception._meta.get_field("decision").max_length)
    if not decision:
        raise ValidationError({"decision": _("Say what was decided: a return, or the refund kept or withdrawn.")})
    shipment_id = Interception.objects.filter(pk=interception_id).values_list("shipment_id", flat=True).first()
    if shipment_id is None:
        raise ValidationError(_("There is no interception %(id)s.") % {"id": interception_id})
    _orders, shipment = _parcel(shipment_id)
    locks.lock_shipment_of_locked_orders(shipment_id)
    interception = Interception.objects.get(pk=interception_id)
    if not interception.awaits_decision:
        raise TransitionRefused(
            _("Interception of %(shipment)s waits for no decision: it is %(status)s.")
            % {"shipment": shipment, "status": interception.get_status_display()}
            if interception.decided_at is None
            else _("Interception of %(shipment)s was decided at %(time)s already.")
            % {"shipment": shipment, "time": _short_datetime(interception.decided_at)}
        )
    interception.decision = decision
    interception.decided_by = stored_user(actor)
    interception.decided_at = timezone.now()
    interception.save()
    for order in orders_of_parcel(shipment):
        orders.record_change(
            order,
            "interception",
            _("After the failed interception: %(decision)s") % {"decision": decision},
            actor=actor,
        )
    return interception
