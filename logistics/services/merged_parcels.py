"""One parcel for merged orders (docs/architecture.md, "Merging orders"): the helpers pick lists,
packing, dispatch, tracking and cancellation use so that a merged group is picked, packed, labelled
and tracked as one parcel while every order of it moves through its own transitions."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from core.actors import Actor
from core.transitions import TransitionRefused
from orders.models import Order

from ..models import Shipment, ShipmentLine


def with_merged_orders(order_ids: Iterable[int]) -> list[int]:
    """The chosen orders and every order merged with one of them, ascending: a pick list takes a
    merged group whole."""
    order_ids = set(order_ids)
    merges = Order.objects.filter(pk__in=order_ids, merge__isnull=False).values("merge_id")
    order_ids |= set(Order.objects.filter(merge__in=merges).values_list("pk", flat=True))
    return sorted(order_ids)


def parcel_groups(orders: list[Order]) -> list[list[Order]]:
    """The locked orders of a pick list, grouped by parcel: a merged group together, every other
    order alone; each group ascending, in the order of its first order."""
    groups: dict[object, list[Order]] = {}
    for order in sorted(orders, key=lambda o: o.pk):
        groups.setdefault(("merge", order.merge_id) if order.merge_id else ("order", order.pk), []).append(order)
    return list(groups.values())


def deciding_order(group: list[Order]) -> Order:
    """The order whose needs choose the group's carrier service: one that collects cash on delivery
    (the carrier must collect), else one that asked for express, else the first."""
    return next(
        (o for o in group if o.collects_on_delivery),
        next((o for o in group if o.express_requested), group[0]),
    )


def orders_of_parcel(shipment: Shipment) -> list[Order]:
    """The orders whose goods travel in the parcel, ascending (for a parcel of merged orders, each
    order that still has lines in it); read after the parcel's orders are locked."""
    if shipment.merge_id is None:
        return [shipment.order]
    ids = set(ShipmentLine.objects.filter(shipment=shipment).values_list("order_line__order_id", flat=True))
    ids.add(shipment.order_id)
    return list(Order.objects.filter(pk__in=ids).order_by("pk"))


def take_order_out(shipment: Shipment, order: Order, *, actor: Actor) -> bool:
    """A merged order cancelled after picking: its lines come out of the group's parcel while it
    waits to be packed (units already scanned are put aside with them). A packed parcel is
    refused: it is sealed and labelled for the whole group. Returns whether the parcel is left
    empty (then the caller cancels it)."""
    if shipment.status != Shipment.Status.PENDING:
        raise TransitionRefused(
            _(
                "Order %(number)s travels in parcel %(shipment)s with other merged orders, which is already "
                "packed: open the parcel and take the order's goods out (or cancel the whole group) first."
            )
            % {"number": order.number, "shipment": shipment.pk}
        )
    ShipmentLine.objects.filter(shipment=shipment, order_line__order=order).delete()
    remaining = sorted(
        set(ShipmentLine.objects.filter(shipment=shipment).values_list("order_line__order_id", flat=True))
    )
    if not remaining:
        return True
    if shipment.order_id == order.pk:
        # The parcel belongs to the group's first order that is still in it.
        shipment.order_id = remaining[0]
        shipment.save(update_fields=["order"])
    return False
