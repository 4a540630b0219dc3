from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from orders import services as orders

from .models import Carrier, Shipment


@transaction.atomic
def dispatch(*, order_id, warehouse_id, carrier_id, tracking_number, actor):
    """Hand one warehouse's goods of a packed order to a carrier under a tracking number."""
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise ValidationError({"tracking_number": _("Enter the tracking number.")})
    carrier = Carrier.objects.filter(pk=carrier_id, active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": _("Choose an active carrier.")})
    already_used = ValidationError(
        {"tracking_number": _("%(carrier)s tracking number %(number)s is already on another shipment.")
         % {"carrier": carrier, "number": tracking_number}}
    )
    if Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exists():
        raise already_used
    orders.dispatch_from_warehouse(order_id, warehouse_id, actor=actor, reference=f"{carrier} {tracking_number}")
    try:
        # Two orders dispatched at once under one number: the unique constraint decides.
        with transaction.atomic():
            return Shipment.objects.create(
                order_id=order_id, warehouse_id=warehouse_id, carrier=carrier, tracking_number=tracking_number,
                created_by=actor,
            )
    except IntegrityError as error:
        raise already_used from error


@transaction.atomic
def mark_delivered(shipment_id, *, actor):
    """A shipment reached the customer; the order is delivered when all of its shipments are."""
    order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
    order = orders.lock_order(order_id)
    shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
    if not can_proceed(shipment.deliver):
        raise orders.TransitionRefused(
            _("Shipment %(shipment)s is already %(status)s.") % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    if actor is not None and not has_transition_perm(shipment.deliver, actor):
        raise PermissionDenied(_("Your role may not record deliveries."))
    shipment.deliver()
    shipment.save()
    undelivered = order.shipments.exclude(status=Shipment.Status.DELIVERED).exists()
    if not undelivered and order.status == order.Status.SHIPPED:
        orders.record_delivery(order.pk, actor=actor, reason=str(shipment))
    return shipment
