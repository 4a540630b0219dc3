"""The packing and handover stations in the demo shop (docs/architecture.md, "The packing station" and
"Handover to the carrier"): six parcels of the Shanghai warehouse packed unit by unit through the
station's scans, two of them with a refused scan (a wrong item put aside, one unit too many) so the
dashboard's staff table shows the packer's accuracy and units per hour; yesterday's ZTO pickup,
dispatched with its manifest; and this afternoon's SF batch, open with two parcels scanned in and a
third packed parcel left for the visitor to scan. Everything goes through the services; what they
stamp with the present is then moved to the story's moments like the rest of the demo."""

from datetime import timedelta
from decimal import Decimal

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import HandoverBatch, HandoverParcel, PackingScanRefusal, Shipment
from orders import services as orders
from orders.models import Order

# (story, recipient, phone, lines, refused scans): goods kept in Shanghai only, so each order leaves
# in one parcel from there. "yesterday" parcels leave with ZTO's driver, "today" ones wait for SF's.
PARCELS = [
    ("yesterday", "冯晓雯", "13761234611", [("TEA-006", 2)], ["TEA-010"]),
    ("yesterday", "曹建平", "13861234612", [("TEA-010", 1), ("TEA-006", 1)], []),
    ("today", "邓丽娜", "13961234613", [("TEA-006", 3)], []),
    ("today", "许志强", "13661234614", [("TEA-010", 1)], ["one too many"]),
    ("today", "彭雅琪", "13561234615", [("TEA-006", 1), ("TEA-010", 1)], []),
    ("today", "苏文博", "13461234616", [("TEA-006", 2)], []),
]
CARRIER = {"yesterday": "zto", "today": "sf"}
# Hours before the demo started at which each story's orders were placed, picked and packed.
HOURS_AGO = {"yesterday": (30, 28, 27), "today": (7, 5, 4)}
# Placing writes these, moved to the moment of placing as in demo/merging.py.
PLACED = {"order", "events", "stock", "allocations", "payments", "notifications"}


def tell_stations(command) -> str:
    """Pack the parcels at the station, dispatch yesterday's batch and leave today's open; returns
    what it made, for the seed's summary."""
    packed = {"yesterday": [], "today": []}
    refused = 0
    for index, (story, recipient, phone, lines, wrong_scans) in enumerate(PARCELS, start=1):
        placed_hours, picked_hours, packed_hours = HOURS_AGO[story]
        minutes = 12 * index
        order = _place(command, index, recipient, phone, lines, command.started - timedelta(hours=placed_hours))
        if order.status != Order.Status.CONFIRMED:
            continue
        command.at(
            order,
            command.started - timedelta(hours=picked_hours, minutes=-minutes),
            logistics.create_pick_wave,
            command.warehouses["SH"].pk,
            [order.pk],
            actor=command.users["warehouse"],
        )
        shipment = order.shipments.get(status=Shipment.Status.PENDING)
        closed_at = command.started - timedelta(hours=packed_hours, minutes=-minutes)
        refused += _pack_at_the_station(command, order, shipment, lines, wrong_scans, closed_at)
        packed[story].append(_labelled(command, shipment, CARRIER[story]))
    dispatched = _dispatched_batch(command, packed["yesterday"])
    waiting = _open_batch(command, packed["today"])
    return (
        f"{sum(map(len, packed.values()))} parcels packed by scans ({refused} scans refused); "
        f"ZTO handover {dispatched} dispatched, SF handover {waiting} open"
    )


def _place(command, index, recipient, phone, lines, moment):
    result = orders.place_order(
        orders.OrderInput(
            channel=command.channels["web"],
            channel_order_id=f"DEMO-STATION-{index}",
            recipient=recipient,
            phone=phone,
            province="上海市",
            city="上海市",
            district="静安区",
            address=f"南京西路 {1000 + index} 号",
            postcode="200040",
            lines=[orders.LineInput(sku=sku, quantity=quantity) for sku, quantity in lines],
            payment_method="e_wallet",
            paid_amount=sum(command.products[sku].unit_price * quantity for sku, quantity in lines),
            placed_at=moment,
        ),
        actor=SYSTEM,
    )
    command.backdate(result.order, moment, PLACED)
    return result.order


def _pack_at_the_station(command, order, shipment, lines, wrong_scans, closed_at):
    """Scan the parcel's units in as the station does, "3*SKU" for three alike, with the refused
    scans among them; close it; date the first scan and the refusals before its closing."""
    packer = command.users["warehouse"]
    refusals = []
    for wrong in wrong_scans:
        if wrong != "one too many":
            refusals.append(logistics.scan_item(shipment.pk, wrong, actor=packer))
    for sku, quantity in lines:
        logistics.scan_item(shipment.pk, f"{quantity}*{sku}" if quantity > 1 else sku, actor=packer)
    if "one too many" in wrong_scans:
        refusals.append(logistics.scan_item(shipment.pk, lines[0][0], actor=packer))
    # The box and its filling weigh 0.2 kg, as in the rest of the demo.
    weight = sum((command.products[sku].weight_kg * quantity for sku, quantity in lines), Decimal("0.2"))
    command.at(order, closed_at, logistics.finish_packing, shipment.pk, weight_kg=weight, package_count=1, actor=packer)
    units = sum(quantity for _sku, quantity in lines)
    started_at = closed_at - timedelta(minutes=1 + units)
    Shipment.objects.filter(pk=shipment.pk).update(packing_started_at=started_at)
    PackingScanRefusal.objects.filter(shipment_id=shipment.pk).update(scanned_at=started_at + timedelta(seconds=40))
    return sum(1 for answer in refusals if not answer.accepted)


def _labelled(command, shipment, carrier_code):
    """The parcel with its carrier's tracking number on the label, as the logistics coordinator
    enters it."""
    carrier = command.carriers[carrier_code]
    return logistics.assign_tracking_number(
        shipment.pk, carrier.pk, command.tracking_number(carrier), actor=command.users["logistics"]
    )


def _dispatched_batch(command, parcels) -> str:
    """Yesterday's ZTO pickup: every parcel scanned in, the manifest signed, the batch confirmed."""
    if not parcels:
        return "none"
    operator = command.users["warehouse"]
    batch = logistics.open_handover_batch(command.carriers["zto"].pk, actor=operator)
    for parcel in parcels:
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)
    logistics.confirm_batch(batch.pk, actor=operator)
    moment = command.started - timedelta(hours=24)
    for parcel in parcels:
        command.backdate(parcel.order, moment, {"order", "events", "stock", "shipped", "notifications"})
    _date_batch(batch, opened=moment - timedelta(minutes=25), scanned=moment - timedelta(minutes=10))
    HandoverBatch.objects.filter(pk=batch.pk).update(dispatched_at=moment)
    return f"{batch.pk} ({len(parcels)} parcels)"


def _open_batch(command, parcels) -> str:
    """This afternoon's SF pickup: all but the last packed parcel scanned in, the driver not yet here."""
    if not parcels:
        return "none"
    operator = command.users["warehouse"]
    batch = logistics.open_handover_batch(command.carriers["sf"].pk, actor=operator)
    for parcel in parcels[:-1]:
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)
    moment = command.started - timedelta(hours=1)
    _date_batch(batch, opened=moment - timedelta(minutes=20), scanned=moment)
    return f"{batch.pk} ({len(parcels) - 1} parcels in, {parcels[-1].tracking_number} left to scan)"


def _date_batch(batch, *, opened, scanned):
    HandoverBatch.objects.filter(pk=batch.pk).update(opened_at=opened)
    HandoverParcel.objects.filter(batch=batch).update(scanned_at=scanned)
