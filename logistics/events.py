"""What the logistics services announce to the apps above logistics (docs/architecture.md,
"Events"): a parcel's steps, each published by the service that took it, inside its transaction,
once the parcel is saved with who took the step and when."""

from core.events import Event

PARCEL_PACKED = Event(
    name="logistics.parcel_packed",
    doc="A parcel was closed at the packing bench: `shipment` is saved with its packer and packing time.",
    payload=("shipment",),
)

PARCEL_DISPATCHED = Event(
    name="logistics.parcel_dispatched",
    doc=(
        "A packed parcel was handed to its carrier: `shipment` is saved with its tracking number, "
        "who dispatched it, when, and the promised delivery date."
    ),
    payload=("shipment",),
)

PARCEL_DELIVERED = Event(
    name="logistics.parcel_delivered",
    doc=(
        "A parcel reached the customer, as its carrier reported or staff recorded: `shipment` is "
        "saved with its delivery time."
    ),
    payload=("shipment",),
)

PACKING_SCAN_REFUSED = Event(
    name="logistics.packing_scan_refused",
    doc=(
        "The packing station refused a scan (the wrong item, one too many, a parcel that takes no more): "
        "`refusal` is the kept PackingScanRefusal, with who scanned it, when and in which warehouse."
    ),
    payload=("refusal",),
)
