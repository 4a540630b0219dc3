"""The merging chapter of the demo shop (docs/architecture.md, "Merging orders"): two orders of one
buyer to one address waiting in the merge queue ("Orders to merge"), and another buyer's two orders
already merged by the reviewer, to leave in one parcel. Everything goes through the services."""

from datetime import timedelta

from core.actors import SYSTEM
from orders import services as orders
from orders.models import Order, OrderMerge

# Two buyers, each ordering twice from one channel to one address; goods kept only in Shanghai, so
# each pair's goods wait in one warehouse and can leave in one parcel.
BUYERS = [
    (
        "offered",
        "tmall",
        "韩雪",
        "13761234501",
        "上海市",
        "上海市",
        "徐汇区",
        "漕溪北路 88 号 3 号楼 1202 室",
        "200030",
    ),
    ("merged", "web", "蒋文", "13861234502", "浙江省", "杭州市", "西湖区", "文三路 259 号 5 幢 601 室", "310012"),
]
LINES = [("TEA-006", 1), ("TEA-010", 1)]


# What placing and merging write, moved into the demo's past like every other step (seed_demo's
# backdate): the orders, their events, stock, allocations, payments, messages and the merge notes.
WRITES = {"order", "events", "stock", "allocations", "payments", "notifications", "notes"}


def tell_merging(command) -> str:
    """Place the two pairs and merge the second; returns what it made, for the seed's summary."""
    merged = None
    placed = []
    for hours_ago, (story, channel, name, phone, province, city, district, street, postcode) in zip(
        (5, 3), BUYERS, strict=True
    ):
        pair = []
        for index, (sku, quantity) in enumerate(LINES, start=1):
            moment = command.started - timedelta(hours=hours_ago, minutes=40 - 20 * index)
            result = orders.place_order(
                orders.OrderInput(
                    channel=command.channels[channel],
                    channel_order_id=f"DEMO-MERGE-{story}-{index}",
                    recipient=name,
                    phone=phone,
                    province=province,
                    city=city,
                    district=district,
                    address=street,
                    postcode=postcode,
                    lines=[orders.LineInput(sku=sku, quantity=quantity)],
                    payment_method="e_wallet",
                    paid_amount=command.products[sku].unit_price * quantity,
                    placed_at=moment,
                ),
                actor=SYSTEM,
            )
            command.backdate(result.order, moment, WRITES)
            pair.append(result.order)
        placed += pair
        if story == "merged" and all(order.status == Order.Status.CONFIRMED for order in pair):
            merged = orders.merge_orders([order.pk for order in pair], actor=command.users["reviewer"])
            moment = command.started - timedelta(hours=2)
            for order in pair:
                command.backdate(order, moment, {"notes"})
            OrderMerge.objects.filter(pk=merged.pk).update(created_at=moment)
    numbers = ", ".join(order.number for order in placed)
    return f"{len(placed)} orders of two buyers to merge ({numbers}); {'one pair merged' if merged else 'none merged'}"
