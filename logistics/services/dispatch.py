"""A parcel's carrier, its tracking number, and handing it to the carrier."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, Orders, require
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import NotificationEvent

from .. import locks
from ..events import PARCEL_DISPATCHED
from ..models import Shipment
from ..selectors import (
    active_carrier,
    active_carrier_service,
    coverage,
    tracking_number_misfit,
    tracking_number_taken,
)
from .common import step
from .labels import burn_pool_number
from .merged_parcels import orders_of_parcel
from .replacements import ship_replacement_stock
from .rules import DEFAULT_TRANSIT_DAYS, add_working_days, weight_of


@transaction.atomic
def choose_carrier(shipment_id: int, service_id: int, *, actor: Actor) -> Shipment:
    """A coordinator overrides the service the rules chose, before the parcel leaves."""
    require(actor, Logistics.CHOOSE_CARRIER, _("Your role may not choose carriers."))
    shipment = locks.lock_shipment(shipment_id)
    if shipment.status not in Shipment.OPEN:
        raise TransitionRefused(
            _("Shipment %(shipment)s has already left; its carrier cannot change.") % {"shipment": shipment}
        )
    service = active_carrier_service(service_id)
    if service is None:
        raise ValidationError({"service": _("Choose an active carrier service.")})
    collects = shipment.purpose in Shipment.CARRIES_GOODS and any(
        order.collects_on_delivery for order in orders_of_parcel(shipment)
    )
    if collects and not service.supports_cod:
        raise ValidationError(
            {
                "service": _("%(service)s does not collect cash on delivery, which this order needs.")
                % {"service": service}
            }
        )
    unreached = [order for order in orders_of_parcel(shipment) if not coverage().reaches(service, order.region_code)]
    if unreached:
        raise ValidationError(
            {
                "service": _("%(service)s does not deliver to %(region)s.")
                % {"service": service, "region": unreached[0].region_label}
            }
        )
    if shipment.carrier_id != service.carrier_id and shipment.tracking_number:
        raise ValidationError(
            {
                "service": _("Remove the %(carrier)s tracking number before changing the carrier.")
                % {"carrier": shipment.carrier}
            }
        )
    weight = shipment.weight_kg or weight_of(
        [(line.order_line.product, line.quantity) for line in shipment.lines.select_related("order_line__product")]
    )
    shipment.service, shipment.carrier = service, service.carrier
    shipment.service_reason = Shipment.ServiceReason.CHOSEN_BY_STAFF
    shipment.shipping_cost = service.fee_for(weight)
    shipment.save()
    return shipment


def _set_tracking_number(shipment, carrier_id, tracking_number):
    tracking_number = (tracking_number or "").strip()
    if not tracking_number:
        raise ValidationError({"tracking_number": _("Enter the tracking number.")})
    if len(tracking_number) > Shipment._meta.get_field("tracking_number").max_length:
        raise ValidationError({"tracking_number": _("A tracking number has at most 64 characters.")})
    carrier = active_carrier(carrier_id or shipment.carrier_id)
    if carrier is None:
        raise ValidationError({"carrier": _("Choose an active carrier.")})
    already_used = ValidationError(
        {
            "tracking_number": _("%(carrier)s tracking number %(number)s is already on another shipment.")
            % {"carrier": carrier, "number": tracking_number}
        }
    )
    misfit = tracking_number_misfit(carrier, tracking_number)
    if misfit:
        raise ValidationError({"tracking_number": misfit})
    if tracking_number_taken(carrier, tracking_number, other_than=shipment):
        raise already_used
    if carrier.pk != shipment.carrier_id:
        same_kind = carrier.services.filter(active=True, kind=getattr(shipment.service, "kind", None)).first()
        shipment.carrier, shipment.service = carrier, same_kind
        shipment.service_reason = Shipment.ServiceReason.CHOSEN_BY_STAFF
    if shipment.tracking_number and shipment.tracking_number != tracking_number:
        burn_pool_number(
            shipment,
            _("Replaced by %(carrier)s %(number)s on the parcel of order %(order)s.")
            % {"carrier": carrier, "number": tracking_number, "order": shipment.order.number},
        )
    shipment.tracking_number = tracking_number
    try:
        # Two parcels given one number at once: the unique constraint decides.
        with transaction.atomic():
            shipment.save()
    except IntegrityError as error:
        raise already_used from error


@transaction.atomic
def assign_tracking_number(shipment_id: int, carrier_id: int | None, tracking_number: str, *, actor: Actor) -> Shipment:
    """Give a parcel that has not left yet its carrier's tracking number (for the label)."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not enter tracking numbers."))
    shipment = locks.lock_shipment(shipment_id)
    if shipment.status not in Shipment.OPEN:
        raise TransitionRefused(
            _("Shipment %(shipment)s has already left; its tracking number cannot change.") % {"shipment": shipment}
        )
    _set_tracking_number(shipment, carrier_id, tracking_number)
    return shipment


@transaction.atomic
def dispatch(
    shipment_id: int, *, actor: Actor, tracking_number: str | None = None, carrier_id: int | None = None
) -> Shipment:
    """Hand a packed parcel to its carrier: its stock leaves `on_hand` and `reserved` through the
    ledger, the order is (partially) shipped, and the customer is told with the tracking link. A
    repair parcel carries the customer's own goods, which were never stock: it moves neither stock
    nor the order. A replacement for a lost parcel books its own reserved units out and leaves the
    order as it is (docs/architecture.md, "Lost parcels")."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not dispatch orders."))
    shipment = locks.lock_shipment_to_dispatch(shipment_id)
    if shipment.status != Shipment.Status.PACKED:
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s: only a packed parcel can be dispatched.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )
    if tracking_number:
        _set_tracking_number(shipment, carrier_id, tracking_number)
    if not shipment.carrier_id or not shipment.tracking_number:
        raise ValidationError({"tracking_number": _("Enter the carrier and tracking number before dispatch.")})
    step(shipment, shipment.dispatch, actor)
    transit_days = shipment.service.transit_days if shipment.service else DEFAULT_TRANSIT_DAYS
    shipment.expected_delivery_on = add_working_days(timezone.localdate(shipment.shipped_at), transit_days)
    shipment.dispatched_by = stored_user(actor)
    shipment.save()
    PARCEL_DISPATCHED.publish(shipment=shipment)
    if shipment.purpose == Shipment.Purpose.REPLACEMENT:
        ship_replacement_stock(shipment, actor=actor)
        for order in orders_of_parcel(shipment):
            orders.notify(order, NotificationEvent.ORDER_SHIPPED, shipment=shipment)
        return shipment
    if shipment.purpose != Shipment.Purpose.ORDER:
        orders.notify(shipment.order, NotificationEvent.ORDER_SHIPPED, shipment=shipment)
        return shipment
    # A merged parcel ships every order in it, each told its tracking number.
    for order in orders_of_parcel(shipment):
        orders.dispatch_from_warehouse(order.pk, shipment.warehouse_id, actor=actor, reference=str(shipment))
        orders.notify(order, NotificationEvent.ORDER_SHIPPED, shipment=shipment)
    return shipment
