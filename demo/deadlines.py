"""Ship-by deadlines in the demo shop (docs/architecture.md, "Ship-by deadlines"): Tmall's 48 hours
with a 16:00 cut-off and JD's 24 hours, set before the orders come in so intake gives each its due
time. As the demo moves an order's placing into the past, its clock is moved with it; then a Tmall
order left waiting past its deadline and orders due before the end of today fill the order list's
Overdue and Due today tabs, whatever the hour the demo is loaded at."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from core.actors import SYSTEM
from orders import services as orders
from orders.models import Order

# channel: (hours to dispatch within, cut-off hour)
DISPATCH_DEADLINES = {"tmall": (48, 16), "jd": (24, None)}
# A marketplace order in the demo's order desk confirmed this long ago and never picked.
OVERDUE_BY = timedelta(hours=60)
# Placing moments tried, this far apart, for an order due later today.
SEARCH_STEP = timedelta(minutes=10)


def set_deadlines(command) -> str:
    """Called by seed_demo before the orders, with itself: its channels."""
    for code, (hours, cutoff) in DISPATCH_DEADLINES.items():
        channel = command.channels[code]
        channel.dispatch_within_hours, channel.dispatch_cutoff_hour = hours, cutoff
        channel.save(update_fields=["dispatch_within_hours", "dispatch_cutoff_hour"])
    return ", ".join(
        f"{code} {hours} h" + (f" (cut-off {cutoff}:00)" if cutoff is not None else "")
        for code, (hours, cutoff) in DISPATCH_DEADLINES.items()
    )


def start_clock_at(order: Order, moment: datetime) -> None:
    """Move the order's ship-by clock to the demo's moment it came in, as its other stamps move:
    intake started it at the real present."""
    if order.dispatch_due_at is None:
        return
    order.dispatch_due_at = orders.dispatch_due(order.channel, moment)
    Order.objects.filter(pk=order.pk).update(dispatch_due_at=order.dispatch_due_at)


def _placed_to_be_due_today(channel, now):
    """A placing moment whose due time falls between now and the end of the shop's day, the latest
    there is; None when the channel's cut-off leaves none (after the cut-off every order not yet
    due is due tomorrow)."""
    zone = timezone.get_default_timezone()
    end_of_day = datetime.combine(timezone.localdate(now, zone) + timedelta(days=1), time.min, tzinfo=zone)
    moment = now
    while moment > now - timedelta(hours=channel.dispatch_within_hours + 24):
        if now < orders.dispatch_due(channel, moment) < end_of_day:
            return moment
        moment -= SEARCH_STEP
    return None


def seed_deadlines(command) -> str:
    """Called by seed_demo after the orders, with itself: its channels, products and clock."""
    now = command.limit
    to_place = [("tmall", now - OVERDUE_BY)]
    for code in DISPATCH_DEADLINES:
        moment = _placed_to_be_due_today(command.channels[code], now)
        if moment is not None:
            to_place.append((code, moment))
    placed = []
    for n, (code, moment) in enumerate(to_place, start=1):
        order = orders.place_order(
            orders.OrderInput(
                channel=command.channels[code],
                channel_order_id=f"DUE-{n:03d}",
                **command.addressed_to(command.new_customer()),
                lines=[orders.LineInput(sku="TEA-009", quantity=1)],
                payment_method="e_wallet",
                paid_amount=command.products["TEA-009"].unit_price,
                placed_at=moment,
            ),
            actor=SYSTEM,
        ).order
        command.backdate(order, moment, {"order", "events", "stock", "allocations", "notifications"})
        start_clock_at(order, moment)
        placed.append(order)
    overdue = sum(order.dispatch_overdue for order in placed)
    return f"{overdue} order overdue, {len(placed) - overdue} due before the end of today"
