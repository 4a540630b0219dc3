"""Parcels of a cancelled order that have not left are void."""

from django.db import transaction

from .. import locks


@transaction.atomic
def cancel_open_shipments(order):
    """An order cancelled before it left: its parcels waiting to be packed or dispatched are void."""
    for shipment in locks.lock_open_shipments(order):
        shipment.cancel()
        shipment.save()
