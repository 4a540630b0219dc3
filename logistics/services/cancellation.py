"""Parcels of a cancelled order that have not left are void."""

from __future__ import annotations

from django.db import transaction

from core.actors import SYSTEM
from orders.models import Order

from .. import locks
from .merged_parcels import take_order_out


@transaction.atomic
def cancel_open_shipments(order: Order) -> None:
    """An order cancelled before it left: its parcels waiting to be packed or dispatched are void."""
    for shipment in locks.lock_open_shipments(order):
        # A merged group's parcel loses only this order's goods; the others still travel in it.
        if shipment.merge_id is not None and not take_order_out(shipment, order, actor=SYSTEM):
            continue
        shipment.cancel()
        shipment.save()
