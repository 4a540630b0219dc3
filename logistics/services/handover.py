"""The handover station: a batch per carrier pickup, parcels scanned into it by tracking number,
and the whole batch dispatched at once when the driver signs the manifest (docs/architecture.md,
"Handover to the carrier").

Every step locks the batch first (docs/architecture.md, "Lock order"): two scans into one batch
queue behind each other, a scan cannot slip into a batch while it is being confirmed, and two
confirmations of one batch dispatch it once. A parcel scanned into two batches at the same moment
is decided by `HandoverParcel.shipment` being unique."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, Orders, require
from core.transitions import TransitionRefused

from .. import locks
from ..models import HandoverBatch, HandoverParcel, Shipment
from ..selectors import active_carrier, carriers_whose_numbers_look_like, parcel_by_tracking_number
from .dispatch import dispatch


def _require_handover(actor):
    require(actor, Logistics.HAND_OVER_PARCELS, _("Your role may not hand parcels over to carriers."))


def _open_batch_locked(batch_id):
    try:
        batch = locks.lock_handover_batch(batch_id)
    except HandoverBatch.DoesNotExist:
        raise ValidationError(_("There is no handover batch %(number)s.") % {"number": batch_id}) from None
    if not batch.is_open:
        raise TransitionRefused(
            _("Handover %(number)s was dispatched at %(time)s: open a new batch for the next pickup.")
            % {
                "number": batch.pk,
                "time": date_format(timezone.localtime(batch.dispatched_at), "SHORT_DATETIME_FORMAT"),
            }
        )
    return batch


@transaction.atomic
def open_handover_batch(carrier_id: int | None, *, actor: Actor) -> HandoverBatch:
    """Start the batch for one carrier's pickup."""
    _require_handover(actor)
    carrier = active_carrier(carrier_id)
    if carrier is None:
        raise ValidationError({"carrier": _("Choose an active carrier.")})
    return HandoverBatch.objects.create(carrier=carrier, opened_by=stored_user(actor))


def _refuse_by_format(batch, tracking_number):
    """Refuse a number that is not the batch's carrier's by its look, before anything is read."""
    carrier = batch.carrier
    if carrier.takes(tracking_number) is not False:
        return
    others = carriers_whose_numbers_look_like(tracking_number, other_than=carrier)
    if others:
        raise ValidationError(
            _("%(number)s is a %(other)s tracking number, not %(carrier)s: keep that parcel for %(other)s's driver.")
            % {"number": tracking_number, "other": others[0], "carrier": carrier}
        )
    raise ValidationError(
        _("%(number)s does not look like a %(carrier)s tracking number: check the label.")
        % {"number": tracking_number, "carrier": carrier}
    )


def _refuse_parcel(batch, tracking_number, shipment):
    """Refuse a parcel that is not ours for this carrier, already taken, or not ready to leave."""
    carrier = batch.carrier
    if shipment is None:
        raise ValidationError(
            _("No parcel of ours has the %(carrier)s tracking number %(number)s.")
            % {"carrier": carrier, "number": tracking_number}
        )
    if shipment.carrier_id != carrier.pk:
        raise ValidationError(
            _("%(number)s is on the parcel of order %(order)s for %(other)s, not %(carrier)s.")
            % {"number": tracking_number, "order": shipment.order.number, "other": shipment.carrier, "carrier": carrier}
        )
    taken = getattr(shipment, "handover", None)
    if taken is not None and taken.batch_id == batch.pk:
        raise ValidationError(
            _("%(number)s (order %(order)s) is already in this batch.")
            % {"number": tracking_number, "order": shipment.order.number}
        )
    if taken is not None and taken.batch.is_open:
        raise ValidationError(
            _("%(number)s (order %(order)s) is already in handover %(batch)s: remove it there first.")
            % {"number": tracking_number, "order": shipment.order.number, "batch": taken.batch_id}
        )
    if shipment.status != Shipment.Status.PACKED:
        raise ValidationError(
            _("The parcel of order %(order)s is %(status)s: only a packed parcel is handed over.")
            % {"order": shipment.order.number, "status": shipment.get_status_display()}
        )


@transaction.atomic
def scan_into_batch(batch_id: int, tracking_number: str, *, actor: Actor) -> HandoverParcel:
    """Put the packed parcel with this tracking number into the open batch. Refused, with the
    reason, when the number is another carrier's or not one of this carrier's, when the parcel is
    unknown, already in a batch, or not packed."""
    _require_handover(actor)
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise ValidationError(_("Scan the tracking number on the parcel's label."))
    batch = _open_batch_locked(batch_id)
    _refuse_by_format(batch, tracking_number)
    shipment = parcel_by_tracking_number(tracking_number, batch.carrier)
    _refuse_parcel(batch, tracking_number, shipment)
    try:
        # The same parcel scanned into another batch at this moment: the unique shipment decides.
        with transaction.atomic():
            return HandoverParcel.objects.create(batch=batch, shipment=shipment, scanned_by=stored_user(actor))
    except IntegrityError as error:
        raise ValidationError(
            _("%(number)s (order %(order)s) has just been scanned into another handover batch.")
            % {"number": tracking_number, "order": shipment.order.number}
        ) from error


@transaction.atomic
def remove_from_batch(batch_id: int, parcel_id: int, *, actor: Actor) -> Shipment:
    """Take a parcel out of the open batch (the driver leaves it behind). Returns its shipment."""
    _require_handover(actor)
    batch = _open_batch_locked(batch_id)
    parcel = HandoverParcel.objects.select_related("shipment__order").filter(pk=parcel_id, batch=batch).first()
    if parcel is None:
        raise ValidationError(_("That parcel is no longer in this batch."))
    parcel.delete()
    return parcel.shipment


@transaction.atomic
def discard_batch(batch_id: int, *, actor: Actor) -> list[Shipment]:
    """Give up an open batch (the pickup was called off, or it was opened for the wrong carrier):
    it is deleted with its scans, so its parcels are free to be scanned into another batch, and
    nothing is dispatched. Refused once the batch is dispatched. Locks the batch first, as a scan
    and a confirmation do: a scan waiting behind it then finds no batch, and a confirmation that
    came first leaves a dispatched batch that is refused here. Returns the parcels it held."""
    _require_handover(actor)
    batch = _open_batch_locked(batch_id)
    shipments = list(
        Shipment.objects.filter(handover__batch=batch).select_related("order").order_by("handover__scanned_at", "pk")
    )
    batch.delete()
    return shipments


@transaction.atomic
def confirm_batch(batch_id: int, *, actor: Actor) -> list[Shipment]:
    """Dispatch every parcel of the batch through the dispatch service, all or nothing: one
    parcel that cannot leave (cancelled or dispatched elsewhere since it was scanned) refuses the
    whole batch, naming it, and nothing is dispatched. Locks the batch, then every parcel's
    orders, their reserved goods and stock, before the first parcel (as dispatch sheets do)."""
    _require_handover(actor)
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not dispatch orders."))
    batch = _open_batch_locked(batch_id)
    shipments = list(
        Shipment.objects.filter(handover__batch=batch).select_related("order").order_by("handover__scanned_at", "pk")
    )
    if not shipments:
        raise ValidationError(_("The batch is empty: scan the parcels the driver takes first."))
    locks.lock_orders_to_dispatch({shipment.order_id for shipment in shipments})
    dispatched = []
    for shipment in shipments:
        try:
            dispatched.append(dispatch(shipment.pk, actor=actor))
        except (ValidationError, TransitionRefused) as error:
            raise ValidationError(
                _("%(number)s (order %(order)s) cannot leave: %(reason)s Remove it from the batch, then confirm again.")
                % {
                    "number": shipment.tracking_number,
                    "order": shipment.order.number,
                    "reason": " ".join(error.messages) if isinstance(error, ValidationError) else str(error),
                }
            ) from error
    batch.dispatched_at = timezone.now()
    batch.dispatched_by = stored_user(actor)
    batch.save(update_fields=["dispatched_at", "dispatched_by"])
    return dispatched
