"""Logistics' part in erasing customers' personal data (docs/architecture.md, "Personal data").
Parcels keep no address of their own (labels print the order's), but carriers write who signed for
a parcel and where it was left into their events' descriptions; those go when orders announces the
customer erased (`orders.events.PERSONAL_DATA_ERASED`). Carrier, tracking number, status, times and
the hub a parcel passed stay for the figures."""

from __future__ import annotations

from ..models import TrackingEvent


def erase_personal_data(*, customer_ids: list[int], order_ids: list[int]) -> None:
    TrackingEvent.objects.filter(shipment__order_id__in=order_ids).update(description="")
