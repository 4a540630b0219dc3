"""A coordinator chooses the carrier service of chosen orders from the order list
(docs/architecture.md, "The order list at volume"). Before picking there is no parcel: the choice is
kept (CarrierChoice) and the next pick list gives the order's parcels that service. An order that
already has a parcel waiting to be packed or dispatched has that parcel switched, with the rule of
switching a carrier's parcels in an incident (rerouting.put_on_service)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, require
from orders import locks as order_locks
from orders.models import Order

from .. import locks
from ..models import CarrierChoice, Shipment
from ..selectors import active_carrier_service, coverage
from .rerouting import Rerouted, put_on_service

# The order's goods have not all left: a parcel may still be made or switched.
SERVICE_CHANGEABLE = [*Order.BEFORE_PICKING, Order.Status.PICKING, Order.Status.PACKED, Order.Status.PARTIALLY_SHIPPED]


@transaction.atomic
def choose_carrier_service(order_ids: Iterable[int], service_id: int, *, actor: Actor) -> Rerouted:
    """Give each chosen order `service_id`: kept for its next parcels, and put on its open parcels.
    One transaction for the whole choice (orders locked by primary key, then their open parcels);
    each order is done or left with why on its own: one that has shipped everything, or that
    collects cash on delivery when the service does not. A parcel with another carrier's tracking
    number loses it and is named as needing a new label."""
    require(actor, Logistics.CHOOSE_CARRIER, _("Your role may not choose carriers."))
    service = active_carrier_service(service_id)
    if service is None:
        raise ValidationError({"service": _("Choose an active carrier service.")})
    orders = order_locks.lock_orders(sorted(set(order_ids)))
    open_parcels = Shipment.objects.filter(
        order__in=orders, status__in=Shipment.OPEN, purpose=Shipment.Purpose.ORDER
    ).values_list("pk", flat=True)
    parcels_of = defaultdict(list)
    for shipment in locks.lock_shipments(list(open_parcels)):
        parcels_of[shipment.order_id].append(shipment)
    result = Rerouted()
    now, by = timezone.now(), stored_user(actor)
    reach = coverage()
    for order in orders:
        if order.status not in SERVICE_CHANGEABLE:
            result.left[order.number] = _("it is %(status)s now") % {"status": order.get_status_display()}
            continue
        if order.collects_on_delivery and not service.supports_cod:
            result.left[order.number] = _("%(service)s does not collect cash on delivery, which this order needs") % {
                "service": service
            }
            continue
        if not reach.reaches(service, order.region_code):
            result.left[order.number] = _("%(service)s does not deliver to %(region)s") % {
                "service": service,
                "region": order.region_label,
            }
            continue
        for shipment in parcels_of[order.pk]:
            if put_on_service(shipment, service) and order.number not in result.needs_new_label:
                result.needs_new_label.append(order.number)
        CarrierChoice.objects.update_or_create(
            order=order, defaults={"service": service, "chosen_by": by, "chosen_at": now}
        )
        result.done.append(order.number)
    return result
