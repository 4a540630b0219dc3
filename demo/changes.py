"""Orders that change, in the demo shop: a confirmed order a customer asked to change by phone
(one more unit and a new line), and one split by hand so that half of it goes out as its own order.
Everything goes through the services, as customer service would do it from the console."""

from datetime import timedelta

from django.db.models import Count, F

from inventory.models import StockLevel
from orders import services as orders
from orders.models import Order, PaymentMethod
from orders.services import LineChange, LineInput

from .timeline import move, moving

# What editing and splitting stamp with the present, moved to the step's moment (demo/timeline.py).
MOVING = [
    moving(table, stamp, of_order="")
    for table, stamp in [
        ("orders_orderevent", "created_at"),
        ("orders_ordernote", "created_at"),
        ("orders_allocation", "created_at"),
        ("orders_order", "updated_at"),
        ("inventory_stockmovement", "created_at"),
    ]
]

EDIT_NOTE = "客户来电：加一件，另加一样商品"


def play_changes(command) -> str:
    """Edit one confirmed order and split another into a linked order; returns what was done."""
    service = command.users["service"]
    confirmed = (
        Order.objects.filter(status=Order.Status.CONFIRMED, split_from=None, refunds=None)
        .annotate(line_count=Count("lines"))
        .order_by("pk")
    )
    done = []
    # Cash on delivery: the higher total is collected at the door, so the order stays confirmed.
    edited = confirmed.filter(payment_method=PaymentMethod.COD).first()
    if edited is not None:
        line = edited.lines.order_by("pk").first()
        # Something else the shop has plenty of, for the line the customer adds.
        extra = (
            StockLevel.objects.filter(on_hand__gte=F("reserved") + 20, product__active=True)
            .exclude(product_id__in=edited.lines.values("product_id"))
            .order_by("product__sku")
            .values_list("product__sku", flat=True)
            .first()
        )
        result = orders.edit_order(
            edited.pk,
            actor=service,
            changes=[LineChange(line.pk, quantity=line.quantity + 1)],
            add=[LineInput(sku=extra, quantity=1)] if extra else [],
        )
        orders.add_note(edited.pk, author=service, text=EDIT_NOTE)
        move(MOVING, moment=command.limit - timedelta(minutes=2), started=command.started)
        done.append(f"{result.order.number} edited")
    # A paid order, so its payment is seen following the units.
    splittable = confirmed.exclude(pk=getattr(edited, "pk", None)).filter(line_count__gte=2)
    to_split = splittable.exclude(payment_method=PaymentMethod.COD).first() or splittable.first()
    if to_split is not None:
        line = to_split.lines.order_by("-pk").first()
        result = orders.split_off(to_split.pk, {line.pk: line.quantity}, actor=service)
        move(MOVING, moment=command.limit - timedelta(minutes=1), started=command.started)
        done.append(f"{to_split.number} split into {result.new_order.number}")
    return "; ".join(done) or "no confirmed order to change"
