"""Parcels of a cancelled order that have not left are void."""

from __future__ import annotations

from django.db import transaction

from orders.models import Order

from .. import locks


@transaction.atomic
def cancel_open_shipments(order: Order) -> None:
    """An order cancelled before it left: its parcels waiting to be packed or dispatched are void."""
    for shipment in locks.lock_open_shipments(order):
        shipment.cancel()
        shipment.save()
