"""Stock per channel in the demo shop (docs/architecture.md, "Stock per channel"): JD is offered 90 %
of what is available of every product (a default buffer of 10 %), and the scarce master-made teapot
is kept for the shop's own channels, with Tmall offered one unit; then a Tmall order for two waits
for a reviewer, held as over its channel's share. Set after the demo's other orders, so it changes
none of them."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Sum

from core.actors import SYSTEM
from inventory.models import StockLevel
from orders import services as orders
from orders.models import Channel
from orders.services import stock_buffers

SCARCE = "CER-003"
JD_DEFAULT_PERCENT = Decimal("10")


def seed_channel_stock(demo) -> str:
    """Set the buffers as the demo's manager, then place the Tmall order through intake."""
    manager = demo.users["manager"]
    jd, tmall = Channel.objects.get(code="jd"), Channel.objects.get(code="tmall")
    stock_buffers.set_channel_default_buffer(jd.pk, units=None, percent=JD_DEFAULT_PERCENT, actor=manager)
    available = (
        StockLevel.objects.filter(product__sku=SCARCE, warehouse__active=True).aggregate(
            units=Sum(F("on_hand") - F("reserved"))
        )["units"]
        or 0
    )
    kept = max(available - 1, 1)
    stock_buffers.set_stock_buffer(channel=tmall, sku=SCARCE, units=kept, percent=None, actor=manager)
    moment = demo.limit - timedelta(hours=2)
    data = orders.OrderInput(
        channel=tmall,
        channel_order_id="CH-SHARE-1",
        recipient="郑国强",
        phone="13912340021",
        province="上海市",
        city="上海市",
        district="黄浦区",
        address="南京东路 300 号",
        postcode="200001",
        lines=[orders.LineInput(sku=SCARCE, quantity=2)],
        payment_method="cod",
        placed_at=moment,
    )
    order = orders.place_order(data, actor=SYSTEM).order
    demo.backdate(order, moment, {"order", "events", "stock", "allocations", "notifications"})
    return f"JD keeps back {JD_DEFAULT_PERCENT} %, Tmall {kept} of {SCARCE}; order {order.number} held over its share"
