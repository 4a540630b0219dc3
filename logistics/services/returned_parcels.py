"""Parcels that come back: intercepted at our request, refused at the door or undeliverable, the
carrier brings them back to the warehouse they left (docs/architecture.md, "Interception and
parcels that come back"). The warehouse books each unit into sellable stock or quarantine through
the stock ledger, as an inspected return does (inventory.take_back_returned), with the order's
number as the reference; an order whose goods are all back is closed as returned, with a refund
requested for what was paid and no refund covers yet.

Locks: the parcel's orders, then the stock levels (the ledger), the payments and refunds, and the
parcel last (docs/architecture.md, "Lock order"). The parcel's status is read under its orders'
locks, which every step that moves it takes first, so a parcel received twice at once is booked
once: the second is told it is back already."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Inventory, require
from core.transitions import TransitionRefused
from inventory import services as inventory
from orders import services as orders
from orders.models import Order

from .. import locks
from ..models import Shipment, ShipmentLine
from ..selectors import parcels_of
from .merged_parcels import orders_of_parcel


@dataclass(frozen=True)
class ReceivedBack:
    """What receiving a parcel back did: the parcel, the orders closed as returned and those left
    as they were because other goods of theirs are still out."""

    shipment: Shipment
    closed: list[Order]
    still_out: list[Order]


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_lines(shipment, lines, counts):
    """{shipment line id: (sellable, quarantined)} for every line, adding up to what left."""
    errors = {}
    unknown = set(counts) - {line.pk for line in lines}
    if unknown:
        errors["lines"] = [
            _("Shipment %(shipment)s has no line %(lines)s.")
            % {"shipment": shipment, "lines": ", ".join(map(str, sorted(unknown, key=str)))}
        ]
    for index, line in enumerate(lines):
        sellable, quarantined = counts.get(line.pk, (0, 0))
        key = f"lines[{index}]"
        if not _whole(sellable) or sellable < 0:
            errors[f"{key}.sellable"] = [_("Enter a whole number, zero or more.")]
        if not _whole(quarantined) or quarantined < 0:
            errors[f"{key}.quarantined"] = [_("Enter a whole number, zero or more.")]
        if f"{key}.sellable" in errors or f"{key}.quarantined" in errors:
            continue
        if sellable + quarantined != line.quantity:
            errors[f"{key}.quarantined"] = [
                _(
                    "%(quantity)d × %(sku)s left in this parcel: sellable and quarantine must add up to that (now %(sum)d)."
                )
                % {"quantity": line.quantity, "sku": line.order_line.sku, "sum": sellable + quarantined}
            ]
    if errors:
        raise ValidationError(errors)


def _refuse_not_coming_back(shipment):
    if shipment.status == Shipment.Status.RECEIVED_BACK:
        raise TransitionRefused(
            _("Shipment %(shipment)s was received back at %(time)s already.")
            % {
                "shipment": shipment,
                "time": date_format(timezone.localtime(shipment.received_back_at), "SHORT_DATETIME_FORMAT"),
            }
        )
    raise TransitionRefused(
        _(
            "Shipment %(shipment)s is %(status)s: only a parcel the carrier reported returned to sender (or "
            "intercepted) is received back. Record what the carrier says first."
        )
        % {"shipment": shipment, "status": shipment.get_status_display()}
    )


def _all_goods_back(order, shipment):
    """Whether none of the order's goods is still out: every other parcel of goods is cancelled or
    received back, and the order has shipped everything (no warehouse still holds some of it)."""
    if order.status != Order.Status.SHIPPED:
        return False
    return (
        not parcels_of(order)
        .filter(purpose=Shipment.Purpose.ORDER)
        .exclude(pk=shipment.pk)
        .exclude(status__in=[Shipment.Status.CANCELLED, Shipment.Status.RECEIVED_BACK])
        .exists()
    )


@transaction.atomic
def receive_parcel_back(shipment_id: int, *, counts: Mapping[int, tuple[int, int]], actor: Actor) -> ReceivedBack:
    """A parcel that came back is received at its warehouse: `counts` gives, for each of its lines
    ({shipment line id: (sellable, quarantined)}), the units going back into sellable stock and
    into quarantine; together they are the units that left. Each order whose goods are all back is
    closed as returned and its refund requested; the others keep their status."""
    require(actor, Inventory.RECEIVE_STOCK, _("Your role may not receive parcels back into stock."))
    try:
        locks.lock_parcel_orders(shipment_id)
    except Shipment.DoesNotExist:
        raise ValidationError({"shipment": _("There is no shipment %(id)s.") % {"id": shipment_id}}) from None
    shipment = Shipment.objects.select_related("order", "carrier", "warehouse").get(pk=shipment_id)
    if shipment.status != Shipment.Status.RETURNED or shipment.purpose != Shipment.Purpose.ORDER:
        _refuse_not_coming_back(shipment)
    lines = list(ShipmentLine.objects.filter(shipment=shipment).select_related("order_line__order").order_by("pk"))
    _check_lines(shipment, lines, counts)
    by_order = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for line in lines:
        sellable, quarantined = counts.get(line.pk, (0, 0))
        units = by_order[line.order_line.order_id][line.order_line.product_id]
        units[0] += sellable
        units[1] += quarantined
    parcel_orders = orders_of_parcel(shipment)
    for order in parcel_orders:
        goods = [
            inventory.ReturnedGoods(product_id=product_id, resellable=sellable, damaged=quarantined)
            for product_id, (sellable, quarantined) in sorted(by_order[order.pk].items())
            if sellable or quarantined
        ]
        if goods:
            inventory.take_back_returned(shipment.warehouse, goods, reference=order.number, actor=actor)
    reason = _("Parcel %(shipment)s came back to %(warehouse)s") % {
        "shipment": shipment,
        "warehouse": shipment.warehouse.code,
    }
    closing = [order for order in parcel_orders if _all_goods_back(order, shipment)]
    for order in closing:
        orders.request_refunds_owed(order, actor=actor, reason=reason)
    shipment = locks.lock_shipment_of_locked_orders(shipment.pk)
    shipment.receive_back()
    shipment.received_back_by = stored_user(actor)
    shipment.save()
    closed, still_out = [], []
    for order in parcel_orders:
        order.refresh_from_db()
        if order in closing:
            orders.record_order_transition(order, order.close_returned, actor=actor, reason=reason)
            closed.append(order)
        else:
            orders.record_change(
                order,
                "received_back",
                _("%(reason)s; other goods of the order are still out, so it stays %(status)s.")
                % {"reason": reason, "status": order.get_status_display()},
                actor=actor,
            )
            still_out.append(order)
    return ReceivedBack(shipment=shipment, closed=closed, still_out=still_out)
