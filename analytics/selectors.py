"""What the dashboard shows, read from the daily rollups (never from the order tables, except the
live work queues, which count up to a cap on indexed columns). Each function costs a fixed number of
queries over at most (days × channels × ...) rollup rows, however many orders there are."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from inventory.models import Product, Warehouse
from logistics import selectors as logistics_selectors
from orders.models import Channel, Order
from orders.selectors import count_up_to
from orders.templatetags import work_queues as order_work_queues

from .models import (
    DailyHandling, DailyOrders, DailyProductSales, DailyProvinceOrders, DailyShipments, DailyStageTime, Step,
)
from .services import FUNNEL, HANDLING_BUCKETS, shop_zone

Status = Order.Status


# Periods and filters -------------------------------------------------------------------------

def shop_today():
    return timezone.localdate(timezone=shop_zone())


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def previous(self):
        """The period of equal length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each_day(self):
        return [self.start + timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class Filters:
    period: Period
    channel_id: int | None = None
    warehouse_id: int | None = None

    def orders_rows(self, model, period=None):
        """Rollup rows of `model` in the period (default: this one and the one before), of the channel."""
        period = period or Period(self.period.previous().start, self.period.end)
        rows = model.objects.filter(day__range=(period.start, period.end))
        return rows.filter(channel_id=self.channel_id) if self.channel_id else rows


def _split(rows, names, start):
    """One query for both periods: each amount summed once for the current period and once before."""
    sums = {}
    for name in names:
        sums[f"{name}__now"] = Sum(name, filter=Q(day__gte=start), default=0)
        sums[f"{name}__before"] = Sum(name, filter=Q(day__lt=start), default=0)
    totals = rows.aggregate(**sums)
    return ({name: totals[f"{name}__now"] for name in names}, {name: totals[f"{name}__before"] for name in names})


def _ratio(part, whole):
    return Decimal(part) / Decimal(whole) if whole else None


# Key figures ---------------------------------------------------------------------------------

@dataclass
class Figure:
    key: str
    label: str
    kind: str  # count, money, percent, duration
    current: object = None
    previous: object = None
    higher_is_better: bool = True
    recorded: bool = True

    @property
    def change(self):
        """Rates change by percentage points; everything else by its relative change."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == "percent":
            return Decimal(self.current) - Decimal(self.previous)
        if not self.previous:
            return None
        return Decimal(self.current) / Decimal(self.previous) - 1

    @property
    def trend(self):
        change = self.change
        if change is None or change == 0:
            return "same"
        return "better" if (change > 0) == self.higher_is_better else "worse"


# Returns, complaints and satisfaction are recorded by after-sales, which has not landed yet: the
# dashboard says so instead of showing zeros. When it lands, each gets a rollup and a figure here.
NOT_RECORDED_YET = [
    ("return_rate", _("Return rate"), "percent", False),
    ("complaint_rate", _("Complaint rate"), "percent", False),
    ("csat", _("Satisfaction (CSAT)"), "percent", True),
]

ORDER_AMOUNTS = ["orders", "gmv", "paid_orders", "cancelled_orders"] + [f"reached_{stage}" for stage in FUNNEL]
SHIPMENT_AMOUNTS = ["dispatched", "order_to_dispatch_seconds", "delivered", "delivery_timed",
                    "dispatch_to_delivery_seconds", "promised", "on_time"]


def order_totals(filters):
    """Summed DailyOrders amounts of the period and of the one before: (now, before)."""
    return _split(filters.orders_rows(DailyOrders), ORDER_AMOUNTS, filters.period.start)


def shipment_totals(filters):
    rows = filters.orders_rows(DailyShipments)
    if filters.warehouse_id:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    return _split(rows, SHIPMENT_AMOUNTS, filters.period.start)


def _order_figures(totals):
    return {
        "orders": totals["orders"],
        "gmv": totals["gmv"],
        "average_order_value": (totals["gmv"] / totals["orders"]).quantize(Decimal("0.01")) if totals["orders"] else None,
        "paid_share": _ratio(totals["paid_orders"], totals["orders"]),
        "cancellation_rate": _ratio(totals["cancelled_orders"], totals["orders"]),
    }


def _average_seconds(seconds, count):
    return int(seconds / count) if count else None


def _shipment_figures(totals):
    return {
        "on_time_rate": _ratio(totals["on_time"], totals["promised"]),
        "order_to_dispatch": _average_seconds(totals["order_to_dispatch_seconds"], totals["dispatched"]),
        "dispatch_to_delivery": _average_seconds(totals["dispatch_to_delivery_seconds"], totals["delivery_timed"]),
    }


def key_figures(filters, *, orders=None, shipments=None):
    """The figures of the period against the period before, in the order the dashboard shows them.
    `orders` and `shipments` are order_totals() and shipment_totals() when the caller has them."""
    orders_now, orders_before = (_order_figures(totals) for totals in (orders or order_totals(filters)))
    shipments_now, shipments_before = (_shipment_figures(t) for t in (shipments or shipment_totals(filters)))
    now, before = {**orders_now, **shipments_now}, {**orders_before, **shipments_before}
    specs = [
        ("orders", _("Orders"), "count", True),
        ("gmv", _("GMV"), "money", True),
        ("average_order_value", _("Average order value"), "money", True),
        ("paid_share", _("Paid share"), "percent", True),
        ("cancellation_rate", _("Cancellation rate"), "percent", False),
    ]
    figures = [Figure(key, label, kind, now[key], before[key], higher) for key, label, kind, higher in specs]
    figures += [Figure(key, label, kind, higher_is_better=higher, recorded=False)
                for key, label, kind, higher in NOT_RECORDED_YET]
    figures += [
        Figure("on_time_rate", _("On-time delivery rate"), "percent", now["on_time_rate"], before["on_time_rate"]),
        Figure("order_to_dispatch", _("Order to shipment"), "duration", now["order_to_dispatch"],
               before["order_to_dispatch"], higher_is_better=False),
        Figure("dispatch_to_delivery", _("Shipment to delivery"), "duration", now["dispatch_to_delivery"],
               before["dispatch_to_delivery"], higher_is_better=False),
    ]
    return figures


# Charts ----------------------------------------------------------------------------------------

@dataclass
class DayRow:
    day: date
    orders: int
    gmv: Decimal


def per_day(filters):
    """Orders and GMV of each day of the period, days without orders included."""
    found = {
        row["day"]: row for row in
        filters.orders_rows(DailyOrders, filters.period).values("day")
        .annotate(orders=Sum("orders"), gmv=Sum("gmv")).order_by()
    }
    return [
        DayRow(day, found.get(day, {}).get("orders", 0), found.get(day, {}).get("gmv", Decimal("0")))
        for day in filters.period.each_day()
    ]


@dataclass
class ShareRow:
    label: str
    orders: int
    gmv: Decimal
    share: Decimal | None = None


def _with_shares(rows):
    total = sum(row.orders for row in rows)
    for row in rows:
        row.share = _ratio(row.orders, total)
    return rows


def per_channel(filters):
    sums = list(
        filters.orders_rows(DailyOrders, filters.period).values("channel_id")
        .annotate(orders=Sum("orders"), gmv=Sum("gmv")).order_by()
    )
    names = Channel.objects.in_bulk([row["channel_id"] for row in sums])
    rows = [
        ShareRow(str(names[row["channel_id"]]) if row["channel_id"] in names else f"#{row['channel_id']}",
                 row["orders"], row["gmv"])
        for row in sums if row["orders"]
    ]
    return _with_shares(sorted(rows, key=lambda row: (-row.orders, row.label)))


def per_province(filters):
    rows = [
        ShareRow(row["province"] or str(_("(no province)")), row["orders"], row["gmv"])
        for row in filters.orders_rows(DailyProvinceOrders, filters.period).values("province")
        .annotate(orders=Sum("orders"), gmv=Sum("gmv")).order_by("-orders", "province")
        if row["orders"]
    ]
    return _with_shares(rows)


@dataclass
class ProductRow:
    sku: str
    name: str
    quantity: int
    revenue: Decimal


def top_products(filters, *, by, limit=10):
    """The best-selling products of the period, by "quantity" or by "revenue"."""
    sums = list(
        filters.orders_rows(DailyProductSales, filters.period).values("product_id")
        .annotate(quantity=Sum("quantity"), revenue=Sum("revenue"))
        .filter(quantity__gt=0).order_by(f"-{by}", "product_id")[:limit]
    )
    products = Product.objects.only("sku", "name").in_bulk([row["product_id"] for row in sums])
    return [
        ProductRow(products[row["product_id"]].sku if row["product_id"] in products else f"#{row['product_id']}",
                   products[row["product_id"]].name if row["product_id"] in products else "",
                   row["quantity"], row["revenue"])
        for row in sums
    ]


@dataclass
class FunnelRow:
    stage: str
    label: str
    orders: int
    share: Decimal | None


FUNNEL_LABELS = {
    "placed": pgettext_lazy("funnel stage", "Placed"), "confirmed": pgettext_lazy("funnel stage", "Confirmed"),
    "picking": pgettext_lazy("funnel stage", "Picking started"), "packed": pgettext_lazy("funnel stage", "Packed"),
    "shipped": pgettext_lazy("funnel stage", "Shipped"), "delivered": pgettext_lazy("funnel stage", "Delivered"),
    "completed": pgettext_lazy("funnel stage", "Completed"),
}


def funnel(filters, *, orders=None):
    """Of the orders placed in the period, how many reached each stage (so far)."""
    now = (orders or order_totals(filters))[0]
    counts = [("placed", now["orders"])] + [(stage, now[f"reached_{stage}"]) for stage in FUNNEL]
    return [FunnelRow(stage, str(FUNNEL_LABELS[stage]), count, _ratio(count, now["orders"])) for stage, count in counts]


@dataclass
class StageRow:
    status: str
    label: str
    stays: int
    average_seconds: int
    bottleneck: bool = False


# The order waits in these statuses by design (the customer's acceptance window), not for the team:
# shown, but never called the bottleneck.
WAITING_BY_DESIGN = {Status.DELIVERED}
STAGE_ORDER = [Status.PENDING, Status.ON_HOLD, Status.CONFIRMED, Status.PICKING, Status.PACKED,
               Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.DELIVERED]


def stage_times(filters):
    """How long orders spent in each status they left during the period, the slowest the bottleneck."""
    sums = {
        row["status"]: row for row in
        filters.orders_rows(DailyStageTime, filters.period).values("status")
        .annotate(stays=Sum("stays"), seconds=Sum("seconds")).order_by()
    }
    rows = [
        StageRow(status, str(Status(status).label), sums[status]["stays"],
                 int(sums[status]["seconds"] / sums[status]["stays"]))
        for status in STAGE_ORDER if sums.get(status, {}).get("stays")
    ]
    candidates = [row for row in rows if row.status not in WAITING_BY_DESIGN]
    if candidates:
        max(candidates, key=lambda row: row.average_seconds).bottleneck = True
    return rows


# Staff -----------------------------------------------------------------------------------------

@dataclass
class StepFigures:
    handled: int = 0
    buckets: dict = field(default_factory=dict)

    @property
    def median_range(self):
        """The bucket (from, to) seconds the median handling time falls in (for an even count, the
        lower of the two middle times); `to` is None for the last, open-ended bucket."""
        if not self.handled:
            return None
        middle, seen = (self.handled + 1) // 2, 0
        for lower in sorted(self.buckets):
            seen += self.buckets[lower]
            if seen >= middle:
                index = HANDLING_BUCKETS.index(lower)
                upper = HANDLING_BUCKETS[index + 1] if index + 1 < len(HANDLING_BUCKETS) else None
                return lower, upper
        return None


@dataclass
class StaffRow:
    user_id: int
    name: str
    steps: dict  # Step -> StepFigures


STAFF_STEPS = [Step.REVIEW, Step.PICK, Step.PACK, Step.DISPATCH]
# Reviews and picks are steps on a whole order, which may come from several warehouses.
STEPS_WITHOUT_WAREHOUSE = {Step.REVIEW, Step.PICK}


def staff(filters):
    """Per person, the steps finished in the period and the median time each had waited for them.
    With a warehouse chosen, only its packing and dispatch count (reviews and picks have none)."""
    rows = DailyHandling.objects.filter(day__range=(filters.period.start, filters.period.end))
    if filters.warehouse_id:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    people = defaultdict(lambda: {step: StepFigures() for step in STAFF_STEPS})
    for row in rows.values("user_id", "step", "took_at_least").annotate(handled=Sum("handled")).order_by():
        figures = people[row["user_id"]][row["step"]]
        figures.handled += row["handled"]
        figures.buckets[row["took_at_least"]] = figures.buckets.get(row["took_at_least"], 0) + row["handled"]
    users = get_user_model().objects.in_bulk(list(people))
    result = [
        StaffRow(user_id, _person(users.get(user_id), user_id), steps) for user_id, steps in people.items()
    ]
    return sorted(result, key=lambda row: (-sum(s.handled for s in row.steps.values()), row.name))


def _person(user, user_id):
    if user is None:
        return f"#{user_id}"
    return user.get_full_name() or user.get_username()


# Work queues ---------------------------------------------------------------------------------------

@dataclass
class Queue:
    label: str
    count: int | None
    url: str = ""
    more: bool = False
    recorded: bool = True

    def __getitem__(self, name):
        # The order queues' template and tests read queues as mappings.
        return getattr(self, name)


def shipment_queues(user):
    """The parcels that need a logistics coordinator, counted by the rules of the delivery-exceptions
    queue the links open: parcels past their promised day, and reported exceptions or parcels
    returned to sender."""
    if not user.has_perm("logistics.record_tracking"):
        return []
    cap = order_work_queues.QUEUE_CAP
    today = shop_today()
    queue_url = reverse("admin:logistics_shipment_exceptions")
    needing_action = logistics_selectors.delivery_exceptions(today=today)
    queues = [
        (_("Overdue shipments"), logistics_selectors.delivery_exceptions(today=today, kind="overdue"),
         queue_url + "?" + urlencode({"kind": "overdue"})),
        (_("Delivery exceptions"), needing_action.exclude(status__in=logistics_selectors.ON_THE_WAY_UNREPORTED),
         queue_url),
    ]
    result = []
    for label, shipments, url in queues:
        count = count_up_to(shipments, cap)
        result.append(Queue(label, count, url, more=count > cap))
    return result


def work_queues(user):
    """Every queue that is this user's work, each with its count (up to the cap) and its filtered list."""
    queues = [Queue(q["label"], q["count"], q["url"], q["more"]) for q in order_work_queues.order_queues(user)]
    return queues + shipment_queues(user)


def queues_not_recorded_yet():
    """Queues whose records come with after-sales, not built yet."""
    return [Queue(_("Overdue tickets"), None, recorded=False)]


def warehouses():
    return Warehouse.objects.order_by("priority", "code")


def channels():
    return Channel.objects.order_by("name")
