"""Parcels of a cancelled order that have not left are void."""

from django.db import transaction

from ..models import Shipment


@transaction.atomic
def cancel_open_shipments(order):
    """An order cancelled before it left: its parcels waiting to be packed or dispatched are void."""
    for shipment in Shipment.objects.select_for_update().filter(order=order, status__in=Shipment.OPEN).order_by("pk"):
        shipment.cancel()
        shipment.save()
