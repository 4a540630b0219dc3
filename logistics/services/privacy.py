"""Logistics' part in erasing customers' personal data (docs/architecture.md, "Personal data").
Parcels keep no address of their own (labels print the order's), but carriers write who signed for
a parcel and where it was left into their events' descriptions; those go when orders announces the
customer erased (`orders.events.PERSONAL_DATA_ERASED`), from the live events and from those kept in
archived orders (`orders.events.ERASING_ARCHIVED_ORDER`). So do the notes on a lost parcel's claim,
where staff and the carrier write what the customer said and where the parcel was to go. Carrier,
tracking number, status, times, amounts and the hub a parcel passed stay for the figures."""

from __future__ import annotations

from orders.services.privacy import blank_archived_rows

from ..models import CarrierClaim, TrackingEvent

ERASED_FIELDS = {TrackingEvent: {"description": ""}, CarrierClaim: {"note": "", "decision_note": ""}}


def erase_personal_data(*, customer_ids: list[int], order_ids: list[int]) -> None:
    TrackingEvent.objects.filter(shipment__order_id__in=order_ids).update(**ERASED_FIELDS[TrackingEvent])
    CarrierClaim.objects.filter(shipment__order_id__in=order_ids).update(**ERASED_FIELDS[CarrierClaim])


def erase_archived_personal_data(*, rows: dict[str, list[dict]], answer: dict) -> None:
    """The same fields in an archived order's kept tracking events and in its answer's parcels."""
    for model, blanks in ERASED_FIELDS.items():
        blank_archived_rows(rows, model, blanks)
    for shipment in answer.get("shipments", []):
        for event in shipment.get("events", []):
            event.update({field: blank for field, blank in ERASED_FIELDS[TrackingEvent].items() if field in event})
