"""Repair parcels: a customer's repaired goods going back from the warehouse that received them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Logistics, require
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import Order

from ..models import Shipment, ShipmentLine
from ..selectors import active_warehouse
from .rules import choose_service, weight_of


@transaction.atomic
def create_repair_shipment(
    order_id: int, warehouse_id: int, lines: Iterable[tuple[int, int]], *, actor: Actor
) -> Shipment:
    """A parcel that takes a customer's repaired goods back from the warehouse that received them:
    `lines` are (order line id, quantity) pairs of the order. It is packed, dispatched and tracked
    like any parcel, with the service the shipping rules choose, but it moves no stock and never
    the order's status (see dispatch)."""
    require(actor, Logistics.ADD_SHIPMENT, _("Your role may not create parcels."))
    order = orders.lock_order(order_id)
    if order.status not in (Order.Status.DELIVERED, Order.Status.COMPLETED):
        raise TransitionRefused(
            _("Order %(number)s is %(status)s: only goods that reached the customer come back for repair.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    warehouse = active_warehouse(warehouse_id)
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    order_lines = {line.pk: line for line in order.lines.select_related("product")}
    quantities = defaultdict(int)
    for line_id, quantity in lines:
        if line_id not in order_lines:
            raise ValidationError({"lines": _("This line is not on order %(number)s.") % {"number": order.number}})
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ValidationError({"lines": _("Enter a whole number greater than zero.")})
        quantities[line_id] += quantity
    if not quantities:
        raise ValidationError({"lines": _("A parcel needs at least one item.")})
    for line_id, quantity in quantities.items():
        if quantity > order_lines[line_id].quantity:
            raise ValidationError(
                {
                    "lines": _("Order %(number)s has only %(quantity)d × %(sku)s.")
                    % {
                        "number": order.number,
                        "quantity": order_lines[line_id].quantity,
                        "sku": order_lines[line_id].sku,
                    }
                }
            )
    parcel = [(order_lines[line_id].product, quantity) for line_id, quantity in quantities.items()]
    weight = weight_of(parcel)
    service, reason = choose_service(order, weight_kg=weight, fragile=any(p.fragile for p, _q in parcel), repair=True)
    shipment = Shipment.objects.create(
        order=order,
        warehouse=warehouse,
        purpose=Shipment.Purpose.REPAIR,
        carrier=service.carrier if service else None,
        service=service,
        service_reason=reason,
        shipping_cost=service.fee_for(weight) if service else None,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line=order_lines[line_id], quantity=quantity)
        for line_id, quantity in sorted(quantities.items())
    )
    return shipment
