"""Sending open work elsewhere when a warehouse or a carrier cannot do it (an incident,
docs/architecture.md, "Incidents"): a warehouse's unpicked orders move to another warehouse, and
a carrier's parcels that have not left switch to another carrier service, in bulk. Each function
is one transaction that locks the orders first, then what follows them in the lock order."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Inventory, Logistics, require
from orders import locks as order_locks
from orders import services as orders
from orders.models import Allocation

from .. import locks
from ..models import CarrierService, Shipment
from ..selectors import active_carrier_service, active_warehouse, warehouses_by_id
from .labels import burn_pool_number
from .rules import PICKABLE, weight_of


@dataclass
class Rerouted:
    """What a bulk move did: the order numbers done, and those left with why (by order number)."""

    done: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)
    needs_new_label: list[str] = field(default_factory=list)


@transaction.atomic
def move_open_work(from_warehouse_id: int, to_warehouse_id: int, *, reason: str, actor: Actor) -> Rerouted:
    """Move a warehouse's unpicked work to another warehouse: every order with goods reserved in
    `from_warehouse_id` that no one has started packing there has its reservation moved (the other
    warehouse must have the goods) and its parcel waiting to be packed there voided, so its next
    pick list is made at the other warehouse. Orders already being packed stay, named with why."""
    require(actor, Inventory.CHANGE_WAREHOUSE, _("Your role may not move a warehouse's work."))
    from_warehouse = warehouses_by_id([from_warehouse_id]).get(from_warehouse_id)
    to_warehouse = active_warehouse(to_warehouse_id)
    if from_warehouse is None:
        raise ValidationError({"warehouse": _("Choose the warehouse whose work moves.")})
    if to_warehouse is None:
        raise ValidationError({"to_warehouse": _("Choose an active warehouse to move the work to.")})
    if to_warehouse.pk == from_warehouse.pk:
        raise ValidationError({"to_warehouse": _("Choose another warehouse than the one whose work moves.")})
    if to_warehouse.reservations_paused_because:
        raise ValidationError(
            {
                "to_warehouse": _("Stock at %(warehouse)s is not promised now: %(reason)s")
                % {"warehouse": to_warehouse, "reason": to_warehouse.reservations_paused_because}
            }
        )
    order_ids = (
        Allocation.objects.filter(
            state=Allocation.State.RESERVED,
            stock_level__warehouse=from_warehouse,
            line__order__status__in=PICKABLE,
        )
        .values_list("line__order_id", flat=True)
        .distinct()
    )
    locked = order_locks.lock_orders(list(order_ids))
    result = Rerouted()
    parcels = {
        shipment.order_id: shipment
        for shipment in Shipment.objects.filter(
            order__in=locked, warehouse=from_warehouse, status__in=Shipment.OPEN, purpose=Shipment.Purpose.ORDER
        ).annotate(scanned=Sum("lines__packed_quantity"))
    }
    movable = []
    for order in locked:
        parcel = parcels.get(order.pk)
        if order.status not in PICKABLE:
            result.left[order.number] = _("it is %(status)s now") % {"status": order.get_status_display()}
        elif order.merge_id is not None:
            # A merged group leaves in one parcel from one warehouse; moving its orders one by one
            # could split it (docs/architecture.md, "Merging orders").
            result.left[order.number] = _("it is merged with other orders into one parcel: unmerge it to move it")
        elif parcel is not None and (parcel.status == Shipment.Status.PACKED or parcel.scanned):
            result.left[order.number] = _("its parcel is being packed at %(warehouse)s") % {
                "warehouse": from_warehouse.code
            }
        else:
            movable.append(order)
    moved = orders.move_reservations(
        [order.pk for order in movable], from_warehouse.pk, to_warehouse.pk, reference=reason, actor=actor
    )
    for order in movable:
        if order.pk in moved.refused:
            result.left[order.number] = moved.refused[order.pk]
    moved_ids = {order.pk for order in moved.moved}
    for shipment in locks.lock_shipments([parcel.pk for order_id, parcel in parcels.items() if order_id in moved_ids]):
        shipment.cancel()
        shipment.save()
    result.done = [order.number for order in moved.moved]
    return result


@transaction.atomic
def switch_carrier_service(
    from_carrier_id: int, to_service_id: int, *, provinces: Collection[str] = (), actor: Actor
) -> Rerouted:
    """Switch a carrier's parcels that have not left (only those to `provinces`, when given) to
    another carrier service, as a coordinator choosing each would. A parcel that must collect cash
    on delivery stays unless the new service collects; one that already has the old carrier's
    tracking number loses it and is named as needing a new label."""
    require(actor, Logistics.CHOOSE_CARRIER, _("Your role may not choose carriers."))
    service = active_carrier_service(to_service_id)
    if service is None:
        raise ValidationError({"service": _("Choose an active carrier service.")})
    provinces = {province.strip() for province in provinces if province.strip()}
    parcels = Shipment.objects.filter(carrier_id=from_carrier_id, status__in=Shipment.OPEN).exclude(service=service)
    if provinces:
        parcels = parcels.filter(order__province__in=provinces)
    pairs = list(parcels.values_list("pk", "order_id"))
    order_locks.lock_orders({order_id for _pk, order_id in pairs})
    result = Rerouted()
    for shipment in locks.lock_shipments([pk for pk, _order_id in pairs]):
        if shipment.status not in Shipment.OPEN or shipment.carrier_id != from_carrier_id:
            continue
        number = shipment.order.number
        if (
            shipment.purpose in Shipment.CARRIES_GOODS
            and shipment.order.collects_on_delivery
            and not service.supports_cod
        ):
            result.left[number] = _("%(service)s does not collect cash on delivery, which this order needs") % {
                "service": service
            }
            continue
        if put_on_service(shipment, service):
            result.needs_new_label.append(number)
        result.done.append(number)
    return result


def put_on_service(shipment: Shipment, service: CarrierService) -> bool:
    """Give a locked open parcel another carrier service, as chosen by staff, with its fee for the
    parcel's weight. A tracking number of another carrier is dropped: True means the parcel needs a
    new label. The caller checks cash on delivery first."""
    needs_new_label = bool(shipment.tracking_number and shipment.carrier_id != service.carrier_id)
    if needs_new_label:
        burn_pool_number(
            shipment,
            _("The parcel of order %(order)s moved to %(service)s.")
            % {"order": shipment.order.number, "service": service},
        )
        shipment.tracking_number = ""
    weight = shipment.weight_kg or weight_of(
        [(line.order_line.product, line.quantity) for line in shipment.lines.select_related("order_line__product")]
    )
    shipment.service, shipment.carrier = service, service.carrier
    shipment.service_reason = Shipment.ServiceReason.CHOSEN_BY_STAFF
    shipment.shipping_cost = service.fee_for(weight)
    shipment.save(update_fields=["service", "carrier", "service_reason", "shipping_cost", "tracking_number"])
    return needs_new_label
