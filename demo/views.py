"""The order desk chapter of the demo shop: a few tags on orders (big spenders, gift wrapping,
calls before delivery) and the manager's saved views of the order list, made through the services
like everything else in the demo."""

from django.db.models import Q

from orders import services as orders
from orders.models import Order, OrderTag

TAGS = [
    ("VIP", OrderTag.Colour.RED),
    ("礼品包装", OrderTag.Colour.PURPLE),
    ("送货前致电", OrderTag.Colour.BLUE),
]


def tag_orders_and_save_views(command) -> str:
    """Tags on some open and some finished orders, and two saved views for the manager."""
    manager, service = command.users["manager"], command.users["service"]
    vip, gift, call_first = (orders.create_tag(name, colour=colour, actor=manager) for name, colour in TAGS)
    biggest = list(Order.objects.order_by("-total", "pk").values_list("pk", flat=True)[:12])
    orders.tag_orders(biggest, tag_id=vip.pk, actor=service)
    open_orders = Order.objects.filter(status__in=[*Order.BEFORE_PICKING, Order.Status.PICKING])
    wrapped = list(open_orders.order_by("pk").values_list("pk", flat=True)[:5])
    orders.tag_orders(wrapped, tag_id=gift.pk, actor=service)
    instructed = list(Order.objects.filter(~Q(special_instructions="")).order_by("pk").values_list("pk", flat=True)[:8])
    orders.tag_orders(instructed, tag_id=call_first.pk, actor=service)
    orders.save_view("VIP 待审核", f"tab=review&tag={vip.pk}", actor=manager)
    orders.save_view("今天的订单", "placed=today", actor=manager)
    tagged = len(set(biggest) | set(wrapped) | set(instructed))
    return f"{len(TAGS)} tags on {tagged} orders, 2 saved views for the manager"
