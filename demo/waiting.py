"""The orders that wait in the demo shop (docs/architecture.md, "Orders that wait"): a few orders
awaiting payment (bank transfers, an instalment plan, a card order sent unpaid; one bank transfer
paid in part), the channels' payment time limits, and orders held by hand (挂起), one of them until
a date. Everything goes through the services; the rows each step wrote are then moved to the
step's moment, as in the rest of the demo."""

from datetime import timedelta
from decimal import Decimal

from core.actors import SYSTEM
from orders import services as orders
from orders.models import Channel, Order

from .timeline import move, moving

Status = Order.Status

# Minutes a channel's orders may wait for their payment before cancel_unpaid_orders cancels them.
PAYMENT_TIME_LIMITS = {"tmall": 30, "jd": 30, "web": 3 * 24 * 60, "phone": 3 * 24 * 60, "partner-api": 7 * 24 * 60}
# channel, payment method, lines, hours ago, part paid
AWAITING = [
    ("phone", "bank_transfer", [("TEA-002", 2)], 20, None),
    ("partner-api", "bank_transfer", [("TEA-004", 6), ("TEA-012", 6)], 30, Decimal("200.00")),
    ("web", "instalments", [("ELE-004", 1)], 6, None),
    ("web", "card", [("APP-007", 1)], 3, None),
]
HOLDS = [
    ("客户来电：下周搬家，新地址确认后再发货", None),
    ("等客户确认颜色，最晚三天后自动放行", timedelta(days=3)),
]


def seed_waiting(command) -> str:
    """Called by seed_demo with itself: its channels, products, users and the demo's clock."""
    for code, minutes in PAYMENT_TIME_LIMITS.items():
        Channel.objects.filter(code=code).update(payment_time_limit_minutes=minutes)
    users = command.users
    placed = []
    for n, (channel, method, lines, hours_ago, part_paid) in enumerate(AWAITING, start=1):
        moment = command.limit - timedelta(hours=hours_ago)
        order = orders.place_order(
            orders.OrderInput(
                channel=command.channels[channel],
                channel_order_id=f"WAIT-{n:03d}",
                **command.addressed_to(command.new_customer()),
                lines=[orders.LineInput(sku=sku, quantity=quantity) for sku, quantity in lines],
                payment_method=method,
                placed_at=moment,
            ),
            actor=SYSTEM,
        ).order
        command.backdate(order, moment, {"order", "events", "stock", "allocations", "notifications"})
        if part_paid is not None:
            command.at(
                order,
                moment + timedelta(hours=2),
                orders.record_payment,
                order.pk,
                method=method,
                amount=part_paid,
                actor=users["finance"],
                reference=f"BANK-{order.number}",
            )
        placed.append(order)

    candidates = Order.objects.filter(
        status=Status.CONFIRMED, manual_hold_at__isnull=True, shipments__isnull=True
    ).order_by("-placed_at", "-id")
    held = []
    for (reason, lasting), order in zip(HOLDS, candidates[: len(HOLDS)], strict=False):
        moment = command.limit - timedelta(minutes=30)
        until = command.started + lasting if lasting else None
        orders.hold_orders([order.pk], reason=reason, until=until, actor=users["service"])
        move(
            [moving("orders_orderevent", "created_at"), moving("orders_order", "manual_hold_at", "id = %(order)s")],
            moment=moment,
            started=command.started,
            order_id=order.pk,
        )
        held.append(order)
    return f"{len(placed)} orders awaiting payment, {len(held)} held by hand"
