"""The catalogue chapter of the demo shop (docs/architecture.md, "Bundles, gifts and channel SKUs"):
a tea-set bundle of two components, a gift rule (满 500 送马克杯), the Tmall shop's own codes for
two of our SKUs, and an order using each, placed through intake like every demo order and moved to
a day of the demo's past."""

from datetime import timedelta
from decimal import Decimal

from core.actors import SYSTEM
from inventory.models import BundleComponent, Product
from orders import services as orders
from orders.models import Channel, ChannelSku, GiftRule

BUNDLE = ("TEA-SET-01", "铁观音盖碗茶具礼盒", "299.00", [("TEA-002", 1), ("CER-005", 2)])
GIFT = ("满 500 送粗陶马克杯", "CER-009", Decimal("500.00"))
# The Tmall shop's codes: its own item numbers for a tea of ours and for the bundle.
TMALL_CODES = [("TM-6688123", "TEA-002"), ("TM-6688999", "TEA-SET-01")]
# (channel, channel order id, lines as the channel sends them, recipient, phone, street)
ORDERS = [
    ("web", "CAT-BUNDLE-1", [("TEA-SET-01", 1)], "周晓燕", "13912340001", "南京西路 1266 号"),
    ("tmall", "CAT-TMALL-1", [("TM-6688123", 1), ("TM-6688999", 1)], "陈建国", "13912340002", "淮海中路 999 号"),
    ("web", "CAT-GIFT-1", [("CER-001", 1)], "林美玲", "13912340003", "陆家嘴环路 1000 号"),
]


def seed_catalogue(demo) -> str:
    """Make the bundle, the gift rule and the channel codes, then place the three orders; `demo`
    is the seed_demo command (its products, channels, clock and backdating)."""
    products = demo.products
    sku, name, price, parts = BUNDLE
    bundle, _created = Product.objects.get_or_create(
        sku=sku, defaults={"name": name, "unit_price": Decimal(price), "weight_kg": Decimal("1.300"), "fragile": True}
    )
    for component, quantity in parts:
        BundleComponent.objects.get_or_create(
            bundle=bundle, component=products[component], defaults={"quantity": quantity}
        )
    products[sku] = bundle
    rule_name, gift_sku, minimum = GIFT
    GiftRule.objects.get_or_create(
        name=rule_name,
        defaults={
            "gift": products[gift_sku],
            "quantity": 1,
            "min_total": minimum,
            "currency": "CNY",
            "starts_at": demo.started - timedelta(days=7),
            "ends_at": demo.started + timedelta(days=30),
            "max_given": 100,
        },
    )
    tmall = Channel.objects.get(code="tmall")
    for code, ours in TMALL_CODES:
        ChannelSku.objects.get_or_create(channel=tmall, code=code, defaults={"product": products[ours]})
    placed = []
    for n, (channel, channel_order_id, lines, recipient, phone, street) in enumerate(ORDERS, start=1):
        moment = demo.limit - timedelta(hours=3 * n)
        data = orders.OrderInput(
            channel=Channel.objects.get(code=channel),
            channel_order_id=channel_order_id,
            recipient=recipient,
            phone=phone,
            province="上海市",
            city="上海市",
            district="静安区",
            address=street,
            postcode="200040",
            lines=[orders.LineInput(sku=line_sku, quantity=quantity) for line_sku, quantity in lines],
            payment_method="cod",
            placed_at=moment,
        )
        order = orders.place_order(data, actor=SYSTEM).order
        demo.backdate(order, moment, {"order", "events", "stock", "allocations", "notifications"})
        placed.append(order.number)
    return f"a bundle, a gift rule, {len(TMALL_CODES)} Tmall codes; orders {', '.join(placed)}"
