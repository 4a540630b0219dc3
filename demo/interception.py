"""The interception chapter of the demo shop (docs/architecture.md, "Interception and parcels that
come back"): two buyers cancel after their parcels left Shanghai. The coordinator has both
intercepted (物流拦截); one parcel is still on its way back, in the warehouse's "Parcels coming
back", and the other is back, booked into stock and quarantine, its order closed as returned with
its refund requested. Everything goes through the services."""

from datetime import timedelta

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import Interception, InterceptionSettings, Shipment
from orders import services as orders

# (story, recipient, phone, city, district, street, postcode)
BUYERS = [
    ("coming-back", "郑浩", "13961234503", "杭州市", "拱墅区", "莫干山路 1418 号 2 幢 302 室", "310011"),
    ("received", "吴婷", "13961234504", "宁波市", "鄞州区", "天童南路 588 号 7 幢 1101 室", "315100"),
]
SKU, QUANTITY = "TEA-006", 2
# The rows each step writes, moved into the demo's past like every other step (seed_demo's backdate).
WRITES = {"order", "events", "stock", "allocations", "notifications", "payments", "refunds", "shipments"}


def tell_interception(command) -> str:
    """Place, ship and intercept the two orders, and receive the second back; returns what it made."""
    InterceptionSettings.current()
    coordinator, operator = command.users["logistics"], command.users["warehouse"]
    told = []
    for hours_ago, (story, name, phone, city, district, street, postcode) in zip((30, 54), BUYERS, strict=True):
        placed_at = command.started - timedelta(hours=hours_ago)
        order = orders.place_order(
            orders.OrderInput(
                channel=command.channels["web"],
                channel_order_id=f"DEMO-INTERCEPT-{story}",
                recipient=name,
                phone=phone,
                province="浙江省",
                city=city,
                district=district,
                address=street,
                postcode=postcode,
                lines=[orders.LineInput(sku=SKU, quantity=QUANTITY)],
                payment_method="e_wallet",
                paid_amount=command.products[SKU].unit_price * QUANTITY,
                placed_at=placed_at,
            ),
            actor=SYSTEM,
        ).order
        command.backdate(order, placed_at, WRITES)
        parcel = _ship(command, order, placed_at + timedelta(hours=3))
        if parcel is None:
            continue
        moment = placed_at + timedelta(hours=9)
        interception = logistics.request_interception(
            parcel.pk,
            reason=Interception.Reason.CANCELLED,
            note="顾客来电取消订单",
            actor=coordinator,
        )
        logistics.record_interception_outcome(
            interception.pk, intercepted=True, fee="15.00", carrier_reference=f"LJ{order.pk:08d}", actor=coordinator
        )
        Interception.objects.filter(pk=interception.pk).update(
            requested_at=moment, answered_at=moment + timedelta(hours=2)
        )
        command.backdate(order, moment, WRITES)
        if story == "received":
            line = parcel.lines.get()
            logistics.receive_parcel_back(parcel.pk, counts={line.pk: (QUANTITY - 1, 1)}, actor=operator)
            back = moment + timedelta(hours=20)
            Shipment.objects.filter(pk=parcel.pk).update(received_back_at=back)
            command.backdate(order, back, WRITES)
        told.append(f"{order.number} ({story})")
    return f"{len(told)} parcels intercepted: " + ", ".join(told)


def _ship(command, order, moment):
    """Pick, pack and dispatch the order's one parcel; None when intake did not confirm it."""
    operator = command.users["warehouse"]
    warehouse_ids = command.warehouses_to_ship_from(order)
    if len(warehouse_ids) != 1:
        return None
    logistics.create_pick_wave(warehouse_ids[0], [order.pk], actor=operator)
    parcel = order.shipments.get(status=Shipment.Status.PENDING)
    for _unit in range(QUANTITY):
        logistics.pack_item(parcel.pk, SKU, actor=operator)
    logistics.finish_packing(parcel.pk, weight_kg="0.7", package_count=1, actor=operator)
    carrier = command.carriers["zto"]
    parcel = logistics.dispatch(
        parcel.pk, carrier_id=carrier.pk, tracking_number=command.tracking_number(carrier), actor=operator
    )
    command.backdate(order, moment, WRITES | {"waves", "packed", "shipped"})
    return parcel
