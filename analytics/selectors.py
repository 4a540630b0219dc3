"""What the dashboard shows, read from the daily rollups (never from the order tables, except the
live work queues, which count up to a cap on indexed columns). Each function costs a fixed number of
queries over at most (days × channels × ...) rollup rows, however many orders there are.

After-sales figures (returns, complaints, ratings, wrong items sent) are counted from their own
records instead: one COUNT each over the period's rows of an index on the day they were made, so
they cost as many rows as there were returns, tickets or ratings in the period, never more orders."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.models import Feedback, ReturnLine, ReturnReason, ReturnRequest, Ticket
from aftersales.selectors import returns as return_selectors
from aftersales.selectors import tickets as ticket_selectors
from core import regions
from core.permissions import Aftersales, Inventory, Logistics
from inventory import selectors as inventory_selectors
from inventory.models import Product, PurchaseOrder, StockLevel, Warehouse
from logistics import selectors as logistics_selectors
from logistics.models import Shipment
from orders import selectors as order_selectors
from orders.models import Channel, Order
from orders.selectors import count_up_to

from .models import (
    ArchivedFigures,
    DailyDispatchDeadlines,
    DailyHandling,
    DailyOrders,
    DailyPacking,
    DailyProductSales,
    DailyProvinceOrders,
    DailyShipments,
    DailyStageTime,
    Step,
)
from .services import AFTER_SALES, FUNNEL, HANDLING_BUCKETS, WRONG_ITEMS, shop_zone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

Status = Order.Status


# Periods and filters -------------------------------------------------------------------------


def shop_today() -> date:
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

    def moments(self):
        """(from, until): the period's first moment and the first moment after it, in the shop's zone."""
        zone = shop_zone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


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


def _split_counts(records, made_at, filters, **conditions):
    """One query for both periods: the records made in each (by their `made_at` time) that meet each
    condition, counted. Returns ({name: count now}, {name: count before})."""
    since, until = Period(filters.period.previous().start, filters.period.end).moments()
    boundary = filters.period.moments()[0]
    records = records.filter(**{f"{made_at}__gte": since, f"{made_at}__lt": until})
    now, before = Q(**{f"{made_at}__gte": boundary}), Q(**{f"{made_at}__lt": boundary})
    counts = records.aggregate(
        **{
            f"{name}__{when}": Count("pk", filter=condition & moment)
            for name, condition in conditions.items()
            for when, moment in (("now", now), ("before", before))
        }
    )
    return (
        {name: counts[f"{name}__now"] for name in conditions},
        {name: counts[f"{name}__before"] for name in conditions},
    )


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


ORDER_AMOUNTS = [
    "orders",
    "gmv",
    "paid_orders",
    "cancelled_orders",
    "returned_orders",
    *(f"reached_{stage}" for stage in FUNNEL),
    "delivered_revenue",
    "delivered_cost",
]
SHIPMENT_AMOUNTS = [
    "dispatched",
    "order_to_dispatch_seconds",
    "delivered",
    "delivery_timed",
    "dispatch_to_delivery_seconds",
    "promised",
    "on_time",
]

PeriodTotals: TypeAlias = tuple[dict[str, int | Decimal], dict[str, int | Decimal]]
"""Summed amounts by name of the period and of the one before it: (now, before)."""


def order_totals(filters: Filters) -> PeriodTotals:
    """Summed DailyOrders amounts of the period and of the one before: (now, before)."""
    return _split(filters.orders_rows(DailyOrders), ORDER_AMOUNTS, filters.period.start)


def shipment_totals(filters: Filters) -> PeriodTotals:
    rows = filters.orders_rows(DailyShipments)
    if filters.warehouse_id:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    return _split(rows, SHIPMENT_AMOUNTS, filters.period.start)


def after_sales_totals(filters: Filters) -> tuple[dict[str, int], dict[str, int]]:
    """Returns, complaints and ratings of the period and of the one before: (now, before), each
    {"returns", "complaints", "ratings", "satisfied"}. All follow the channel of their order; none
    belongs to one warehouse, as the orders they are measured against do not.

    Returns count when asked for, except those rejected (they were not returns after all);
    complaints are the tickets about an order (a complaint about no order has no order to be a
    rate of); satisfied ratings are 4 or 5 out of 5."""

    def of_channel(records):
        # The case's own copy of its order's channel: no join with a million orders.
        return records.filter(channel_id=filters.channel_id) if filters.channel_id else records

    every = Q()
    returns = _split_counts(
        of_channel(ReturnRequest.objects.exclude(status=ReturnRequest.Status.REJECTED)),
        "created_at",
        filters,
        returns=every,
    )
    complaints = _split_counts(
        of_channel(Ticket.objects.filter(order__isnull=False)), "created_at", filters, complaints=every
    )
    ratings = _split_counts(
        of_channel(Feedback.objects.all()),
        "created_at",
        filters,
        ratings=every,
        satisfied=Q(rating__gte=ticket_selectors.SATISFIED_AT_OR_ABOVE),
    )
    totals = tuple({**r, **c, **f} for r, c, f in zip(returns, complaints, ratings, strict=True))
    _add_archived_after_sales(totals, filters)
    return totals


def _add_archived_after_sales(totals, filters):
    """Add the cases of archived orders, whose counts were kept when they left
    (docs/architecture.md, "Archive")."""
    now, before = totals
    kept = ArchivedFigures.objects.filter(
        rollup=AFTER_SALES, day__range=(filters.period.previous().start, filters.period.end)
    )
    if filters.channel_id:
        kept = kept.filter(channel_id=filters.channel_id)
    for day, amounts in kept.values_list("day", "amounts"):
        into = now if day >= filters.period.start else before
        for name, amount in amounts.items():
            into[name] += amount


def _after_sales_figures(totals, orders):
    return {
        "return_rate": _ratio(totals["returns"], orders["orders"]),
        "complaint_rate": _ratio(totals["complaints"], orders["orders"]),
        "csat": _ratio(totals["satisfied"], totals["ratings"]),
        "ratings": totals["ratings"],
    }


def _order_figures(totals):
    return {
        "orders": totals["orders"],
        "gmv": totals["gmv"],
        "average_order_value": (totals["gmv"] / totals["orders"]).quantize(Decimal("0.01"))
        if totals["orders"]
        else None,
        "paid_share": _ratio(totals["paid_orders"], totals["orders"]),
        "cancellation_rate": _ratio(totals["cancelled_orders"], totals["orders"]),
        "gross_margin": totals["delivered_revenue"] - totals["delivered_cost"],
        "gross_margin_rate": _ratio(
            totals["delivered_revenue"] - totals["delivered_cost"], totals["delivered_revenue"]
        ),
    }


def _average_seconds(seconds, count):
    return int(seconds / count) if count else None


def _shipment_figures(totals):
    return {
        "on_time_rate": _ratio(totals["on_time"], totals["promised"]),
        "order_to_dispatch": _average_seconds(totals["order_to_dispatch_seconds"], totals["dispatched"]),
        "dispatch_to_delivery": _average_seconds(totals["dispatch_to_delivery_seconds"], totals["delivery_timed"]),
    }


FIGURES = [
    ("orders", _("Orders"), "count", True),
    ("gmv", _("GMV"), "money", True),
    ("average_order_value", _("Average order value"), "money", True),
    ("paid_share", _("Paid share"), "percent", True),
    ("cancellation_rate", _("Cancellation rate"), "percent", False),
    ("gross_margin", _("Gross margin"), "money", True),
    ("gross_margin_rate", _("Gross margin %"), "percent", True),
    ("return_rate", _("Return rate"), "percent", False),
    ("complaint_rate", _("Complaint rate"), "percent", False),
    ("csat", _("Satisfaction (CSAT)"), "percent", True),
    # How many ratings the satisfaction share is of: a few ratings make it jump.
    ("ratings", _("Ratings given"), "count", True),
    ("on_time_rate", _("On-time delivery rate"), "percent", True),
    ("order_to_dispatch", _("Order to shipment"), "duration", False),
    ("dispatch_to_delivery", _("Shipment to delivery"), "duration", False),
]


def key_figures(
    filters: Filters, *, orders: PeriodTotals | None = None, shipments: PeriodTotals | None = None
) -> list[Figure]:
    """The figures of the period against the period before, in the order the dashboard shows them.
    `orders` and `shipments` are order_totals() and shipment_totals() when the caller has them."""
    orders = orders or order_totals(filters)
    shipments = shipments or shipment_totals(filters)
    after_sales = after_sales_totals(filters)
    now, before = (
        {
            **_order_figures(order_sums),
            **_shipment_figures(shipment_sums),
            **_after_sales_figures(after_sales_sums, order_sums),
        }
        for order_sums, shipment_sums, after_sales_sums in zip(orders, shipments, after_sales, strict=True)
    )
    return [Figure(key, label, kind, now[key], before[key], higher) for key, label, kind, higher in FIGURES]


# Stock value -----------------------------------------------------------------------------------


@dataclass
class StockValueRow:
    warehouse: str
    on_hand: int
    value: Decimal


def stock_value(filters: Filters) -> list[StockValueRow]:
    """What the goods on hand are worth now, at each product's cost, per active warehouse (only the
    filter's, when it names one), in the warehouses' order: one aggregate over the stock levels,
    which are as many as products × warehouses however many orders there are. Quarantined goods are
    not on hand, so not counted."""
    levels = StockLevel.objects.filter(warehouse__active=True, on_hand__gt=0)
    if filters.warehouse_id:
        levels = levels.filter(warehouse_id=filters.warehouse_id)
    rows = (
        levels.values("warehouse_id", "warehouse__code", "warehouse__name", "warehouse__priority")
        .annotate(units=Sum("on_hand"), value=Sum(F("on_hand") * F("product__cost")))
        .order_by("warehouse__priority", "warehouse__code")
    )
    return [
        StockValueRow(f"{row['warehouse__code']} · {row['warehouse__name']}", row["units"], row["value"])
        for row in rows
    ]


# Charts ----------------------------------------------------------------------------------------


@dataclass
class DayRow:
    day: date
    orders: int
    gmv: Decimal


def per_day(filters: Filters) -> list[DayRow]:
    """Orders and GMV of each day of the period, days without orders included."""
    found = {
        row["day"]: row
        for row in filters.orders_rows(DailyOrders, filters.period)
        .values("day")
        .annotate(orders=Sum("orders"), gmv=Sum("gmv"))
        .order_by()
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


def _sums_per_channel(rows, **sums) -> list[dict]:
    """The rollup rows' `sums` per channel, each with the channel's name as `label` (one query for
    the names; a channel deleted since is named by its id)."""
    per_channel = list(rows.values("channel_id").annotate(**sums).order_by())
    names = Channel.objects.in_bulk([row["channel_id"] for row in per_channel])
    for row in per_channel:
        row["label"] = str(names[row["channel_id"]]) if row["channel_id"] in names else f"#{row['channel_id']}"
    return per_channel


def per_channel(filters: Filters) -> list[ShareRow]:
    sums = _sums_per_channel(filters.orders_rows(DailyOrders, filters.period), orders=Sum("orders"), gmv=Sum("gmv"))
    rows = [ShareRow(row["label"], row["orders"], row["gmv"]) for row in sums if row["orders"]]
    return _with_shares(sorted(rows, key=lambda row: (-row.orders, row.label)))


def per_province(filters: Filters) -> list[ShareRow]:
    """Orders per province. Provinces are stored by their official names (docs/architecture.md,
    "Addresses"); rows counted under another way of writing one (an archive restored from before)
    are counted under its official name all the same."""
    totals = {}
    for row in (
        filters.orders_rows(DailyProvinceOrders, filters.period)
        .values("province")
        .annotate(orders=Sum("orders"), gmv=Sum("gmv"))
        .order_by()
    ):
        name = regions.province_name(row["province"])
        orders, gmv = totals.get(name, (0, 0))
        totals[name] = (orders + row["orders"], gmv + row["gmv"])
    rows = [ShareRow(name or str(_("(no province)")), orders, gmv) for name, (orders, gmv) in totals.items() if orders]
    return _with_shares(sorted(rows, key=lambda row: (-row.orders, row.label)))


@dataclass
class ProductRow:
    sku: str
    name: str
    quantity: int
    revenue: Decimal


def top_products(filters: Filters, *, by: str, limit: int = 10) -> list[ProductRow]:
    """The best-selling products of the period, by "quantity" or by "revenue"."""
    sums = list(
        filters.orders_rows(DailyProductSales, filters.period)
        .values("product_id")
        .annotate(quantity=Sum("quantity"), revenue=Sum("revenue"))
        .filter(quantity__gt=0)
        .order_by(f"-{by}", "product_id")[:limit]
    )
    products = Product.objects.only("sku", "name").in_bulk([row["product_id"] for row in sums])
    return [
        ProductRow(
            products[row["product_id"]].sku if row["product_id"] in products else f"#{row['product_id']}",
            products[row["product_id"]].name if row["product_id"] in products else "",
            row["quantity"],
            row["revenue"],
        )
        for row in sums
    ]


@dataclass
class FunnelRow:
    stage: str
    label: str
    orders: int
    share: Decimal | None


FUNNEL_LABELS = {
    "placed": pgettext_lazy("funnel stage", "Placed"),
    "confirmed": pgettext_lazy("funnel stage", "Confirmed"),
    "picking": pgettext_lazy("funnel stage", "Picking started"),
    "packed": pgettext_lazy("funnel stage", "Packed"),
    "shipped": pgettext_lazy("funnel stage", "Shipped"),
    "delivered": pgettext_lazy("funnel stage", "Delivered"),
    "completed": pgettext_lazy("funnel stage", "Completed"),
}


def funnel(filters: Filters, *, orders: PeriodTotals | None = None) -> list[FunnelRow]:
    """Of the orders placed in the period, how many reached each stage (so far)."""
    now = (orders or order_totals(filters))[0]
    counts = [("placed", now["orders"])] + [(stage, now[f"reached_{stage}"]) for stage in FUNNEL]
    return [FunnelRow(stage, str(FUNNEL_LABELS[stage]), count, _ratio(count, now["orders"])) for stage, count in counts]


@dataclass
class DeadlineRow:
    label: str
    dispatched: int
    on_time: int

    @property
    def late(self):
        return self.dispatched - self.on_time

    @property
    def rate(self):
        return _ratio(self.on_time, self.dispatched)


def dispatch_deadlines(filters: Filters) -> list[DeadlineRow]:
    """Per channel, the orders whose first parcel left in the period with a ship-by time, and how
    many left by it (docs/architecture.md, "Ship-by deadlines"); the worst rate first."""
    sums = _sums_per_channel(
        filters.orders_rows(DailyDispatchDeadlines, filters.period),
        dispatched=Sum("dispatched_with_deadline"),
        on_time=Sum("dispatched_on_time"),
    )
    rows = [DeadlineRow(row["label"], row["dispatched"], row["on_time"]) for row in sums if row["dispatched"]]
    return sorted(rows, key=lambda row: (row.rate, row.label))


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
STAGE_ORDER = [
    Status.PENDING,
    Status.AWAITING_PAYMENT,
    Status.ON_HOLD,
    Status.CONFIRMED,
    Status.PICKING,
    Status.PACKED,
    Status.PARTIALLY_SHIPPED,
    Status.SHIPPED,
    Status.DELIVERED,
]


def stage_times(filters: Filters) -> list[StageRow]:
    """How long orders spent in each status they left during the period, the slowest the bottleneck."""
    sums = {
        row["status"]: row
        for row in filters.orders_rows(DailyStageTime, filters.period)
        .values("status")
        .annotate(stays=Sum("stays"), seconds=Sum("seconds"))
        .order_by()
    }
    rows = [
        StageRow(
            status,
            str(Status(status).label),
            sums[status]["stays"],
            int(sums[status]["seconds"] / sums[status]["stays"]),
        )
        for status in STAGE_ORDER
        if sums.get(status, {}).get("stays")
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
class PackerFigures:
    """One packer's work over a period, summed from the DailyPacking rollup."""

    units: int = 0
    timed_units: int = 0
    seconds: int = 0
    refused_scans: int = 0


@dataclass
class StaffRow:
    user_id: int
    name: str
    steps: dict  # Step -> StepFigures
    wrong_item_returns: int = 0
    packing: PackerFigures = field(default_factory=PackerFigures)

    @property
    def refused_per_hundred_units(self) -> Decimal | None:
        """Packing accuracy: scans refused to this packer per hundred units of the parcels they closed."""
        if not self.packing.units:
            return None
        return (Decimal(self.packing.refused_scans * 100) / self.packing.units).quantize(Decimal("0.1"))

    @property
    def units_per_hour(self) -> Decimal | None:
        """Units of the parcels they closed per hour spent on them, from each one's first scan."""
        if not self.packing.timed_units or self.packing.seconds <= 0:
            return None
        return (Decimal(self.packing.timed_units * 3600) / self.packing.seconds).quantize(Decimal("0.1"))


STAFF_STEPS = [Step.REVIEW, Step.PICK, Step.PACK, Step.DISPATCH]
# Reviews and picks are steps on a whole order, which may come from several warehouses.
STEPS_WITHOUT_WAREHOUSE = {Step.REVIEW, Step.PICK}


def staff(filters: Filters) -> list[StaffRow]:
    """Per person, the steps finished in the period and the median time each had waited for them,
    and the returned lines they had packed that were the wrong item. With a warehouse chosen, only
    its packing and dispatch count (reviews and picks have none)."""
    rows = DailyHandling.objects.filter(day__range=(filters.period.start, filters.period.end))
    if filters.warehouse_id:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    people = defaultdict(lambda: {step: StepFigures() for step in STAFF_STEPS})
    for row in rows.values("user_id", "step", "took_at_least").annotate(handled=Sum("handled")).order_by():
        figures = people[row["user_id"]][row["step"]]
        figures.handled += row["handled"]
        figures.buckets[row["took_at_least"]] = figures.buckets.get(row["took_at_least"], 0) + row["handled"]
    wrong_items = wrong_item_returns(filters)
    packers = packer_figures(filters)
    user_ids = list(people.keys() | wrong_items.keys() | packers.keys())
    users = get_user_model().objects.in_bulk(user_ids)
    result = [
        StaffRow(
            user_id,
            _person(users.get(user_id), user_id),
            people[user_id],
            wrong_items.get(user_id, 0),
            packers.get(user_id, PackerFigures()),
        )
        for user_id in user_ids
    ]
    return sorted(result, key=lambda row: (-sum(s.handled for s in row.steps.values()), row.name))


def packer_figures(filters: Filters) -> dict[int, PackerFigures]:
    """{packer's user id: PackerFigures} of the period (and the chosen warehouse): one query over
    the period's rows of the packing rollup, which already holds archived orders' parcels."""
    rows = DailyPacking.objects.filter(day__range=(filters.period.start, filters.period.end))
    if filters.warehouse_id:
        rows = rows.filter(warehouse_id=filters.warehouse_id)
    sums = ("units", "timed_units", "seconds", "refused_scans")
    return {
        row["user_id"]: PackerFigures(**{name: row[name] for name in sums})
        for row in rows.values("user_id").annotate(**{name: Sum(name) for name in sums}).order_by()
    }


def wrong_item_returns(filters: Filters) -> dict[int, int]:
    """{packer's user id: returned lines}: lines of returns asked for in the period (rejected ones
    left out) because the customer got the wrong item, credited to whoever packed the parcel the
    line left in (of the chosen warehouse, if one is)."""
    since, until = filters.period.moments()
    shipment = "return_request__order__shipments"
    packed = {
        f"{shipment}__lines__order_line": F("order_line"),
        f"{shipment}__purpose": Shipment.Purpose.ORDER,
        f"{shipment}__packed_by__isnull": False,
    }
    if filters.warehouse_id:
        packed[f"{shipment}__warehouse_id"] = filters.warehouse_id
    lines = ReturnLine.objects.filter(
        reason=ReturnReason.WRONG_ITEM,
        return_request__created_at__gte=since,
        return_request__created_at__lt=until,
        **packed,
    ).exclude(return_request__status=ReturnRequest.Status.REJECTED)
    counted = defaultdict(
        int, lines.values_list(f"{shipment}__packed_by").annotate(lines=Count("pk", distinct=True)).order_by()
    )
    # Those of archived orders were kept when they left (docs/architecture.md, "Archive").
    kept = ArchivedFigures.objects.filter(rollup=WRONG_ITEMS, day__range=(filters.period.start, filters.period.end))
    for (_day, packer, warehouse_id), amounts in kept.values_list("key", "amounts"):
        if not filters.warehouse_id or warehouse_id == filters.warehouse_id:
            counted[packer] += amounts["lines"]
    return dict(counted)


def _person(user, user_id):
    if user is None:
        return f"#{user_id}"
    return user.get_full_name() or user.get_username()


# Work queues ---------------------------------------------------------------------------------------


@dataclass
class Queue:
    label: str
    count: int
    url: str = ""
    more: bool = False

    def __getitem__(self, name):
        # The order queues' template and tests read queues as mappings.
        return getattr(self, name)


def _counted_queue(label, records, url):
    """A queue of `records`, counted up to the cap."""
    cap = order_selectors.QUEUE_CAP
    count = count_up_to(records, cap)
    return Queue(label, count, url, more=count > cap)


def shipment_queues(user: AbstractUser) -> list[Queue]:
    """The parcels that need a logistics coordinator, counted by the rules of the delivery-exceptions
    queue the links open: parcels past their promised day, and reported exceptions or parcels
    returned to sender."""
    if not user.has_perm(Logistics.RECORD_TRACKING):
        return []
    today = shop_today()
    queue_url = reverse("admin:logistics_shipment_exceptions")
    return [
        _counted_queue(
            _("Overdue shipments"),
            logistics_selectors.delivery_exceptions(today=today, kind="overdue"),
            queue_url + "?" + urlencode({"kind": "overdue"}),
        ),
        # Counted without the late parcels, which would be read only to be left out.
        _counted_queue(
            _("Delivery exceptions"), logistics_selectors.delivery_exceptions(today=today, kind="reported"), queue_url
        ),
    ]


ReturnStatus = ReturnRequest.Status
# (label, permission that makes it this user's work, status of the returns waiting for it)
RETURN_QUEUES = [
    (_("Returns to approve"), Aftersales.APPROVE_RETURN, ReturnStatus.REQUESTED),
    (_("Returns to receive"), Aftersales.RECEIVE_RETURN, ReturnStatus.APPROVED),
    (_("Returns to inspect"), Aftersales.RECEIVE_RETURN, ReturnStatus.RECEIVED),
    (_("Returns to resolve"), Aftersales.RESOLVE_RETURN, ReturnStatus.INSPECTED),
]


def return_queues(user: AbstractUser) -> list[Queue]:
    returns_url = reverse("admin:aftersales_returnrequest_changelist")
    return [
        _counted_queue(
            label, return_selectors.returns_in_status(status), returns_url + "?" + urlencode({"status__exact": status})
        )
        for label, permission, status in RETURN_QUEUES
        if user.has_perm(permission)
    ]


def ticket_queues(user: AbstractUser) -> list[Queue]:
    """Complaints past their answer-by time, and those assigned to this user that are still open."""
    if not user.has_perm(Aftersales.HANDLE_TICKET):
        return []
    tickets_url = reverse("admin:aftersales_ticket_changelist")
    return [
        _counted_queue(
            _("Overdue tickets"), ticket_selectors.overdue_tickets(), tickets_url + "?" + urlencode({"overdue": "yes"})
        ),
        _counted_queue(
            _("My open tickets"),
            ticket_selectors.open_tickets().filter(assigned_to=user),
            tickets_url + "?" + urlencode({"assigned": "me", "status__in": ",".join(Ticket.OPEN)}),
        ),
    ]


def purchase_order_queues(user: AbstractUser) -> list[Queue]:
    """A buyer's drafts to send and overdue purchase orders; the warehouse's purchase orders whose
    goods are awaited (docs/architecture.md, "Suppliers and purchase orders")."""
    url = reverse("admin:inventory_purchaseorder_changelist")
    queues = []
    if user.has_perm(Inventory.SEND_PURCHASE_ORDER):
        queues += [
            _counted_queue(
                _("Purchase orders to send"),
                PurchaseOrder.objects.filter(status=PurchaseOrder.Status.DRAFT),
                url + "?" + urlencode({"status__exact": PurchaseOrder.Status.DRAFT}),
            ),
            _counted_queue(
                _("Overdue purchase orders"),
                inventory_selectors.overdue_purchase_orders(),
                url + "?" + urlencode({"overdue": "yes"}),
            ),
        ]
    if user.has_perm(Inventory.RECEIVE_STOCK):
        queues.append(
            _counted_queue(
                _("Purchase orders to receive"),
                PurchaseOrder.objects.filter(status__in=PurchaseOrder.AWAITING_GOODS),
                url + "?" + urlencode({"status__in": ",".join(PurchaseOrder.AWAITING_GOODS)}),
            )
        )
    return queues


def work_queues(user: AbstractUser) -> list[Queue]:
    """Every queue that is this user's work, each with its count (up to the cap) and its filtered list."""
    queues = [Queue(q["label"], q["count"], q["url"], q["more"]) for q in order_selectors.order_work_queues(user)]
    return queues + shipment_queues(user) + return_queues(user) + ticket_queues(user) + purchase_order_queues(user)


def warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.order_by("priority", "code")


def channels() -> QuerySet[Channel]:
    return Channel.objects.order_by("name")
