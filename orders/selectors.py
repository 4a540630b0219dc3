"""Read queries for the console. Each one is built to use an index and to cost the same number of
queries however many orders it shows."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Count, Exists, F, Min, Model, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Right, TruncDate, Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.permissions import Orders
from inventory.models import Product, Warehouse
from inventory.selectors import bundle_availability

from .events import COD_OUTSTANDING, ORDER_SEARCH
from .models import (
    ZERO,
    Allocation,
    ArchivedOrder,
    Channel,
    ChannelStockBuffer,
    Notification,
    Order,
    OrderLine,
    OrderTag,
    Payment,
    PaymentMethod,
    Refund,
    SavedView,
)
from .services.phones import normalize_phone

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

ORDER_NUMBER = re.compile(r"^OC\d{6}-\d+$", re.IGNORECASE)
# A whole order number as people type it: with or without its dash (spaces are taken out first).
ORDER_NUMBER_TYPED = re.compile(r"^OC\d{6}-?\d{6,}$")
# Digits after the date in an order number (more once there are a million orders).
SEQUENCE_DIGITS = 6
PHONE_LIKE = re.compile(r"^\+?[\d\s()-]{5,}$")

# A model with a foreign key named `order`: a payment, a refund, a message, an after-sales record.
AboutAnOrder = TypeVar("AboutAnOrder", bound=Model)


def order_list() -> QuerySet[Order]:
    return Order.objects.select_related("channel")


def order_by_id(order_id: int) -> Order:
    return Order.objects.get(pk=order_id)


def held_orders() -> QuerySet[Order]:
    return Order.objects.filter(status=Order.Status.ON_HOLD).select_related("channel", "customer")


def search_orders(
    queryset: QuerySet[Order], term: str, *, by_phone: bool = True, by_name: bool = True
) -> QuerySet[Order]:
    """Orders found by what people type (docs/architecture.md, "Finding orders"): a whole order
    number, its sequence number (the digits after the date, with or without their leading zeros:
    264 finds OC…-000264), any other part of one (three characters or more with a letter or the
    dash, or seven digits and more), the last four digits of the phone, a
    whole phone in any format, the start of the recipient's name, a product's SKU (the orders with
    a line of it), a channel order id or a parcel's tracking number. Spaces and dashes typed
    between digits do not matter.

    Each kind of match is a condition one index answers (a trigram index on the number, an index on
    the phone's last four digits, a pattern index on the name in capitals, the tracking numbers
    looked up first through `orders.order_search`), OR-ed together, so PostgreSQL combines index
    lookups instead of reading every order. A SKU is a search of its own: it is recognised in the
    catalogue first and finds only the orders with a line of that product. `by_phone` is off for
    roles that see phones masked and `by_name` for those that see names masked: finding an order
    by a whole number or by more of a name than the masked form shows would reveal it. The last four
    digits are offered to everyone: the masked phone shows them."""
    term = " ".join(unicodedata.normalize("NFKC", term or "").split())
    if not term:
        return queryset
    squeezed = term.replace(" ", "").upper()
    if ORDER_NUMBER_TYPED.match(squeezed):
        return queryset.filter(number=_whole_number(squeezed))
    products = list(Product.objects.filter(sku__in={term, squeezed}).values_list("pk", flat=True))
    if products:
        return queryset.filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"), product_id__in=products)))

    digits = squeezed.replace("-", "")
    matches = Q(channel_order_id__in={term, squeezed})
    if squeezed.isdigit() and len(squeezed) <= SEQUENCE_DIGITS:
        # The number after the date, as people say it: 264 and 000264 are OC…-000264.
        matches |= Q(number__endswith="-" + squeezed.zfill(SEQUENCE_DIGITS))
    elif len(squeezed) >= 3:
        matches |= Q(number__contains=squeezed)
    if digits.isdigit() and len(digits) == 4:
        queryset = queryset.alias(phone_last_four=Right("phone", 4))
        matches |= Q(phone_last_four=digits)
    if by_phone and PHONE_LIKE.match(term):
        matches |= Q(phone=normalize_phone(term)[0])
    if by_name:
        queryset = queryset.alias(recipient_in_capitals=Upper("recipient"))
        matches |= Q(recipient_in_capitals__startswith=term.upper())
    tracked = {order_id for answer in ORDER_SEARCH.publish(term=term) for order_id in answer}
    if tracked:
        matches |= Q(pk__in=sorted(tracked)[:100])
    return queryset.filter(matches)


def _whole_number(squeezed: str) -> str:
    """OC261207000264 or OC261207-000264 as numbers are written: OC261207-000264."""
    return squeezed if "-" in squeezed else f"{squeezed[:8]}-{squeezed[8:]}"


def archived_orders() -> QuerySet[ArchivedOrder]:
    """The archive, newest first, without the archived rows themselves (docs/architecture.md,
    "Archive"): a list shows the searchable columns only."""
    return ArchivedOrder.objects.select_related("channel").defer("rows", "api_answer")


def search_archived_orders(
    queryset: QuerySet[ArchivedOrder], term: str, *, by_phone: bool = True, by_name: bool = True
) -> QuerySet[ArchivedOrder]:
    """Archived orders whose number, phone, recipient or channel order id is exactly `term`: the
    same exact, indexed matches as search_orders (parcels are inside the archived rows, so a
    tracking number is not looked up), with the phone and the name left out for roles that see them
    masked, as there."""
    term = (term or "").strip()
    if not term:
        return queryset
    if ORDER_NUMBER.match(term):
        return queryset.filter(number=term.upper())
    matches = Q(number=term.upper()) | Q(channel_order_id=term)
    if by_name:
        matches |= Q(recipient=term)
    if by_phone and PHONE_LIKE.match(unicodedata.normalize("NFKC", term)):
        matches |= Q(phone=normalize_phone(term)[0])
    return queryset.filter(matches)


def archived_order(order_id: int) -> ArchivedOrder:
    """One archived order with everything it kept; raises ArchivedOrder.DoesNotExist."""
    return ArchivedOrder.objects.select_related("channel", "customer").get(pk=order_id)


def archived_order_of_channel(channel: Channel, number: str) -> ArchivedOrder | None:
    """A channel's own archived order by its number, or None."""
    return ArchivedOrder.objects.filter(channel=channel, number=number).first()


def warehouses() -> QuerySet[Warehouse]:
    return Warehouse.objects.order_by("priority", "code")


def with_allocation_in(queryset: QuerySet[Order], warehouse_id: int) -> QuerySet[Order]:
    return queryset.filter(
        Exists(Allocation.objects.filter(line__order=OuterRef("pk"), stock_level__warehouse_id=warehouse_id))
    )


def order_for_page(order_id: int) -> Order:
    """One order with everything its console page shows, in a fixed number of queries."""
    return (
        Order.objects.select_related("channel", "customer", "created_by", "manual_hold_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.prefetch_related(
                    Prefetch(
                        "allocations",
                        queryset=Allocation.objects.select_related("stock_level__warehouse"),
                    )
                ),
            ),
            "events__actor",
            "notes__author",
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("recorded_by").prefetch_related(
                    Prefetch("refunds", queryset=Refund.objects.order_by("requested_at", "id")),
                ),
            ),
            "shipments__carrier",
            "shipments__service__carrier",
            "shipments__warehouse",
            "merge__shipments__carrier",
            "merge__shipments__service__carrier",
            "merge__shipments__warehouse",
        )
        .get(pk=order_id)
    )


def timeline(order: Order) -> list[dict[str, Any]]:
    """The order's events and staff notes, oldest first, from an order fetched by order_for_page."""
    entries = [("event", event.created_at, event) for event in order.events.all()]
    entries += [("note", note.created_at, note) for note in order.notes.all()]
    return [{"kind": kind, "time": time, "item": item} for kind, time, item in sorted(entries, key=lambda e: e[1])]


def count_up_to(queryset: QuerySet[Any], cap: int) -> int:
    """How many rows, counting no further than `cap` + 1, so a queue of a million costs no more
    than one of a thousand; a result above `cap` means "more than cap"."""
    return queryset.order_by()[: cap + 1].count()


def counts_up_to(
    queryset: QuerySet[Any], conditions: dict[str, Q | None], cap: int, *, count_each_past_cap: bool = True
) -> dict[str, int | None]:
    """How many rows of `queryset` meet each condition (None: all of them), each counted no further
    than `cap` + 1 as count_up_to does. When the queryset holds at most `cap` rows (a search, a
    narrow filter) it is read once, for its ids, and the conditions are counted over those ids by
    primary key in one more query, instead of running the search again for every condition; a
    larger one, and the whole table, are counted condition by condition, each through its own index,
    or, without `count_each_past_cap`, not at all (None; all of them: `cap` + 1)."""
    ids = set(queryset.order_by().values_list("pk", flat=True)[: cap + 1]) if queryset.query.where else None
    if ids is not None and len(ids) > cap and not count_each_past_cap:
        return {key: cap + 1 if condition is None else None for key, condition in conditions.items()}
    if ids is None or len(ids) > cap:
        return {
            key: count_up_to(queryset if condition is None else queryset.filter(condition), cap)
            for key, condition in conditions.items()
        }
    if not ids:
        return dict.fromkeys(conditions, 0)
    counts = {key: Count("pk", filter=condition) for key, condition in conditions.items()}
    return queryset.model._base_manager.filter(pk__in=ids).aggregate(**counts)


# Ship-by queues (docs/architecture.md, "Ship-by deadlines"): conditions over the orders not
# dispatched yet, which the partial index order_dispatch_due holds by due time. The status list is
# repeated in each so PostgreSQL sees that the index's condition holds.


def dispatch_overdue(now: datetime | None = None) -> Q:
    """Orders not dispatched yet whose ship-by time has passed."""
    return Q(status__in=Order.NOT_DISPATCHED, dispatch_due_at__lt=now or timezone.now())


def dispatch_due_today(now: datetime | None = None) -> Q:
    """Orders not dispatched yet, not overdue, due before the end of the shop's local day."""
    now = now or timezone.now()
    shop_zone = timezone.get_default_timezone()
    tomorrow = timezone.localdate(now, shop_zone) + timedelta(days=1)
    return Q(
        status__in=Order.NOT_DISPATCHED,
        dispatch_due_at__gte=now,
        dispatch_due_at__lt=datetime.combine(tomorrow, time.min, tzinfo=shop_zone),
    )


def orders_in_status(*statuses: str) -> QuerySet[Order]:
    return Order.objects.filter(status__in=statuses)


def channel_orders(channel: Channel) -> QuerySet[Order]:
    """The orders of one channel, all a channel's API client may see (index order_by_channel)."""
    return Order.objects.filter(channel=channel)


def notification_log() -> QuerySet[Notification]:
    return Notification.objects.select_related("order")


def notifications_for_order(order_id: int) -> QuerySet[Notification]:
    """An order's messages, newest first (index notification_by_order)."""
    return Notification.objects.filter(order_id=order_id).order_by("-created_at", "-id")


def search_notifications(
    queryset: QuerySet[Notification], term: str, *, by_phone: bool = True
) -> QuerySet[Notification]:
    """Messages of the order numbered `term`, or to the email address or phone number `term`.
    `by_phone` is off for roles that see phones masked: finding by a full number would reveal it."""
    term = (term or "").strip()
    if not term:
        return queryset
    if ORDER_NUMBER.match(term):
        return queryset.filter(order__number=term.upper())
    if "@" in term:
        return queryset.filter(recipient__iexact=term)
    if by_phone and PHONE_LIKE.match(unicodedata.normalize("NFKC", term)):
        return queryset.filter(recipient=normalize_phone(term)[0])
    return queryset.none()


def search_by_order_number(queryset: QuerySet[AboutAnOrder], term: str) -> QuerySet[AboutAnOrder]:
    """Records of `queryset` about the order numbered exactly `term` (all of them for no term):
    matched whole, so the search stays on the order number's index."""
    term = (term or "").strip()
    return queryset.filter(order__number=term.upper()) if term else queryset


# --- refunds, settlement and reconciliation -----------------------------------------------------


def refund_list() -> QuerySet[Refund]:
    return Refund.objects.select_related("order", "payment", "requested_by")


def refunds_in_status(*statuses: str) -> QuerySet[Refund]:
    """Refunds waiting at a step (index refund_by_status)."""
    return Refund.objects.filter(status__in=statuses)


def refund_for_page(refund_id: int) -> Refund:
    return Refund.objects.select_related("order__channel", "payment", "requested_by", "approved_by", "settled_by").get(
        pk=refund_id
    )


def order_for_statement(order_id: int) -> Order:
    """One order with what its settlement statement lists: lines, payments and refunds."""
    return (
        Order.objects.select_related("channel", "customer")
        .prefetch_related(
            "lines",
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("transferred_from__order").order_by("created_at", "id"),
            ),
            Prefetch("refunds", queryset=Refund.objects.select_related("payment").order_by("requested_at", "id")),
        )
        .get(pk=order_id)
    )


@dataclass(frozen=True)
class SettlementFigures:
    total: Decimal
    captured: Decimal
    refunded: Decimal
    refund_owed: Decimal
    balance_due: Decimal

    @property
    def net_paid(self):
        return self.captured - self.refunded


def settlement_figures(order: Order) -> SettlementFigures:
    """An order's money at a glance. A cancelled or returned order owes nothing more, whatever its total."""
    owed = ZERO if order.status in (Order.Status.CANCELLED, Order.Status.RETURNED) else max(order.balance_due, ZERO)
    return SettlementFigures(
        total=order.total,
        captured=order.amount_paid,
        refunded=order.amount_refunded,
        refund_owed=order.refund_due,
        balance_due=owed,
    )


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """From the beginning of day `start` to the end of day `end`, in the shop's time zone."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


@dataclass
class ReconciliationRow:
    """One day, channel, payment method and currency, by name (only the currency is set in a total
    row: amounts in different currencies are never added up)."""

    day: object = None
    channel: str = ""
    method: str = ""
    currency: str = ""
    orders: int = 0
    ordered: Decimal = ZERO
    captured: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def net(self):
        return self.captured - self.refunded

    def add(self, other):
        self.orders += other.orders
        self.ordered += other.ordered
        self.captured += other.captured
        self.refunded += other.refunded


@dataclass
class Reconciliation:
    rows: list
    totals: list  # a ReconciliationRow per currency


def reconciliation(start: date, end: date, *, channel: Channel | None = None) -> Reconciliation:
    """Per day (shop time), channel, payment method and currency from `start` to `end`: what orders
    say (the orders placed that day and their totals, cancelled ones left out) against what
    payments say (money captured that day, refunds paid out that day, and their net). Three grouped
    queries, each over an indexed time column, however many orders the period holds."""
    since, until = day_bounds(start, end)
    orders = Order.objects.filter(placed_at__gte=since, placed_at__lt=until).exclude(status=Order.Status.CANCELLED)
    payments = Payment.objects.filter(status=Payment.Status.CAPTURED, created_at__gte=since, created_at__lt=until)
    refunds = Refund.objects.filter(status=Refund.Status.PAID, settled_at__gte=since, settled_at__lt=until)
    if channel is not None:
        orders = orders.filter(channel=channel)
        payments = payments.filter(order__channel=channel)
        refunds = refunds.filter(order__channel=channel)
    found = {}

    def row(values, channel_key, method_key, currency_key):
        key = (values["day"], values[channel_key], values[method_key], values[currency_key])
        return found.setdefault(key, ReconciliationRow(day=values["day"], currency=values[currency_key]))

    for values in (
        orders.annotate(day=TruncDate("placed_at"))
        .order_by()
        .values("day", "channel_id", "payment_method", "currency")
        .annotate(count=Count("id"), value=Sum("total"))
    ):
        entry = row(values, "channel_id", "payment_method", "currency")
        entry.orders, entry.ordered = values["count"], values["value"]
    for values in (
        payments.annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "order__channel_id", "method", "order__currency")
        .annotate(value=Sum("amount"))
    ):
        row(values, "order__channel_id", "method", "order__currency").captured = values["value"]
    for values in (
        refunds.annotate(day=TruncDate("settled_at"))
        .order_by()
        .values("day", "order__channel_id", "payment__method", "order__currency")
        .annotate(value=Sum("amount"))
    ):
        row(values, "order__channel_id", "payment__method", "order__currency").refunded = values["value"]

    channel_names = dict(Channel.objects.filter(pk__in={key[1] for key in found}).values_list("pk", "name"))
    method_labels = dict(PaymentMethod.choices)
    totals = {}
    for (_day, channel_id, method, currency), entry in found.items():
        entry.channel = channel_names[channel_id]
        entry.method = str(method_labels.get(method, method))
        totals.setdefault(currency, ReconciliationRow(currency=currency)).add(entry)
    rows = sorted(found.values(), key=lambda entry: (entry.day, entry.channel, entry.method, entry.currency))
    return Reconciliation(rows=rows, totals=[totals[currency] for currency in sorted(totals)])


class MismatchKind:
    PAID_NOT_CONFIRMED = "paid_not_confirmed"
    SHIPPED_UNPAID = "shipped_unpaid"
    REFUND_OWED = "refund_owed"
    LABELS = {
        PAID_NOT_CONFIRMED: gettext_lazy("Paid but not confirmed"),
        SHIPPED_UNPAID: gettext_lazy("Shipped but unpaid beyond cash on delivery"),
        REFUND_OWED: gettext_lazy("Refund owed but not paid"),
    }


@dataclass(frozen=True)
class Mismatch:
    kind: str
    order_id: int
    number: str
    channel: str
    detail: str
    amount: Decimal
    currency: str
    since: datetime

    @property
    def problem(self):
        return MismatchKind.LABELS[self.kind]


# Each kind lists at most this many, oldest first: a page and a workbook stay readable, and a
# longer list says something is wrong wholesale rather than order by order.
MISMATCH_LIMIT = 500
# A delivered cash-on-delivery order is paid when its carrier's remittance comes, which the
# reconciliation lists as COD outstanding per carrier (cod_outstanding); one completed unpaid is
# a mismatch, since completion waits for the remittance (orders.services.acceptance).
REMITTED_BY_NOW = [Order.Status.COMPLETED]


def payment_mismatches(
    start: date, end: date, *, channel: Channel | None = None, now: datetime | None = None
) -> list[Mismatch]:
    """Where payments and orders disagree, by kind: orders placed from `start` to `end` that are paid
    in full but not confirmed; that left the warehouse unpaid where cash on delivery does not
    explain it (not cash on delivery, or completed without its remittance); that were cancelled keeping money no
    refund was asked for; and every open refund whenever it was asked for, with its age."""
    since, until = day_bounds(start, end)
    now = now or timezone.now()
    orders = Order.objects.filter(placed_at__gte=since, placed_at__lt=until).select_related("channel")
    refunds = Refund.objects.filter(status__in=Refund.OPEN).select_related("order__channel")
    if channel is not None:
        orders = orders.filter(channel=channel)
        refunds = refunds.filter(order__channel=channel)

    def of_order(kind, order, detail, amount, at):
        return Mismatch(kind, order.pk, order.number, order.channel.name, detail, amount, order.currency, at)

    found = []
    paid_not_confirmed = orders.filter(
        status__in=[Order.Status.PENDING, Order.Status.AWAITING_PAYMENT, Order.Status.ON_HOLD],
        amount_paid__gt=0,
        amount_paid__gte=F("total"),
    ).order_by("placed_at", "id")[:MISMATCH_LIMIT]
    for order in paid_not_confirmed:
        found.append(
            of_order(
                MismatchKind.PAID_NOT_CONFIRMED,
                order,
                _("Paid %(paid)s of %(total)s, but the order is %(status)s.")
                % {"paid": order.amount_paid, "total": order.total, "status": order.get_status_display()},
                order.amount_paid,
                order.placed_at,
            )
        )
    unpaid = orders.filter(
        Q(status__in=Order.LEFT_THE_WAREHOUSE, amount_paid__lt=F("total"))
        & (~Q(payment_method=PaymentMethod.COD) | Q(status__in=REMITTED_BY_NOW))
    ).order_by("placed_at", "id")[:MISMATCH_LIMIT]
    for order in unpaid:
        found.append(
            of_order(
                MismatchKind.SHIPPED_UNPAID,
                order,
                _("%(status)s, paid by %(method)s, with %(due)s of %(total)s not paid.")
                % {
                    "status": order.get_status_display(),
                    "method": order.get_payment_method_display(),
                    "due": order.balance_due,
                    "total": order.total,
                },
                order.balance_due,
                order.shipped_at or order.placed_at,
            )
        )
    for refund in refunds.order_by("requested_at", "id")[:MISMATCH_LIMIT]:
        order = refund.order
        found.append(
            of_order(
                MismatchKind.REFUND_OWED,
                order,
                _("Open for %(age)s (%(status)s): %(reason)s")
                % {
                    "age": timesince(refund.requested_at, now, depth=1),
                    "status": refund.get_status_display(),
                    "reason": refund.reason,
                },
                refund.amount,
                refund.requested_at,
            )
        )
    # Money an open refund covers is listed above with its refund; what a declined or failed
    # refund left behind is not, so the order's part no refund covers is listed on its own.
    kept = orders.filter(
        status=Order.Status.CANCELLED,
        amount_paid__gt=F("amount_refunded") + F("refund_due"),
    ).order_by("placed_at", "id")[:MISMATCH_LIMIT]
    for order in kept:
        uncovered = order.amount_paid - order.amount_refunded - order.refund_due
        found.append(
            of_order(
                MismatchKind.REFUND_OWED,
                order,
                _("Cancelled with %(kept)s captured that no refund asked for or paid covers.") % {"kept": uncovered},
                uncovered,
                order.cancelled_at or order.placed_at,
            )
        )
    return found


# Days since delivery, first and last (None: no end), that cash not yet remitted is aged by.
COD_AGE_BANDS = [(0, 7), (8, 14), (15, 30), (31, None)]


def cod_age_labels() -> list[str]:
    return [
        _("%(first)s–%(last)s days") % {"first": first, "last": last}
        if last is not None
        else _("over %(days)s days") % {"days": first - 1}
        for first, last in COD_AGE_BANDS
    ]


def cod_outstanding(now: datetime | None = None) -> list[dict[str, Any]]:
    """Cash on delivery the carriers collected and have not paid over, per carrier and currency,
    aged by days since delivery (COD_AGE_BANDS): what the apps that know parcels answer through
    `orders.events.COD_OUTSTANDING` (docs/architecture.md, "Cash-on-delivery remittance")."""
    rows = []
    for answer in COD_OUTSTANDING.publish(now=now or timezone.now(), bands=COD_AGE_BANDS):
        rows.extend(answer)
    return sorted(rows, key=lambda row: (str(row["carrier"]), row["currency"]))


QUEUE_CAP = 999
# The front page's work queues: (label, permission that makes it this user's work, the orders,
# where to work on them).
QUEUES = [
    (
        _("Held for review"),
        Orders.REVIEW_ORDER,
        lambda: orders_in_status(Order.Status.ON_HOLD),
        lambda: reverse("admin:orders_heldorder_changelist"),
    ),
    (
        _("Confirmed, to pick"),
        Orders.PICK_ORDER,
        lambda: orders_in_status(Order.Status.CONFIRMED),
        lambda: _order_list(status__exact=Order.Status.CONFIRMED),
    ),
    (
        _("Being picked, to pack"),
        Orders.PICK_ORDER,
        lambda: orders_in_status(Order.Status.PICKING),
        lambda: _order_list(status__exact=Order.Status.PICKING),
    ),
    (
        _("Packed, to dispatch"),
        Orders.DISPATCH_ORDER,
        lambda: orders_in_status(Order.Status.PACKED),
        lambda: _order_list(status__exact=Order.Status.PACKED),
    ),
    (
        _("Partially shipped, rest to dispatch"),
        Orders.DISPATCH_ORDER,
        lambda: orders_in_status(Order.Status.PARTIALLY_SHIPPED),
        lambda: _order_list(status__exact=Order.Status.PARTIALLY_SHIPPED),
    ),
    (
        _("Delivered, to complete"),
        Orders.COMPLETE_ORDER,
        lambda: orders_in_status(Order.Status.DELIVERED),
        lambda: _order_list(status__exact=Order.Status.DELIVERED),
    ),
    (
        _("Refunds to approve"),
        Orders.APPROVE_REFUND,
        lambda: refunds_in_status(Refund.Status.REQUESTED),
        lambda: _refund_list(status__exact=Refund.Status.REQUESTED),
    ),
    (
        _("Approved refunds to pay"),
        Orders.APPROVE_REFUND,
        lambda: refunds_in_status(Refund.Status.APPROVED),
        lambda: _refund_list(status__exact=Refund.Status.APPROVED),
    ),
]


def _order_list(**filters: str) -> str:
    return reverse("admin:orders_order_changelist") + "?" + urlencode(filters)


def _refund_list(**filters: str) -> str:
    return reverse("admin:orders_refund_changelist") + "?" + urlencode(filters)


def order_work_queues(user: AbstractBaseUser) -> list[dict[str, Any]]:
    """The order queues that are this user's work, for the console's front page: label, count (up
    to QUEUE_CAP + 1), more, url."""
    queues = []
    for label, permission, orders, url in QUEUES:
        if user.has_perm(permission):
            count = count_up_to(orders(), QUEUE_CAP)
            queues.append({"label": label, "count": count, "more": count > QUEUE_CAP, "url": url()})
    return queues


# The order list at volume: tags and saved views ---------------------------------------------------


def order_tags() -> QuerySet[OrderTag]:
    return OrderTag.objects.order_by("name")


def tags_of(order: Order) -> list[OrderTag]:
    return list(order.tags.order_by("name"))


def saved_views_of(user: Any) -> QuerySet[SavedView]:
    """The person's own saved views of the order list; nobody sees another's."""
    return SavedView.objects.filter(user=user).order_by("name")


def linked_orders(order: Order) -> list[Order]:
    """The orders split from this one and the one it was split from (docs/architecture.md, "Orders
    that change"), by id."""
    return list(
        Order.objects.filter(Q(split_from=order) | Q(pk=order.split_from_id or 0)).only("pk", "number").order_by("pk")
    )


# Merging orders (docs/architecture.md, "Merging orders")


@dataclass
class MergeGroup:
    """Orders of one buyer to one address (and one channel, unless merging across channels) that
    could leave in one parcel, as the merge queue offers them."""

    phone: str
    address_key: str
    orders: list[Order]

    @property
    def order_ids(self) -> list[int]:
        return [order.pk for order in self.orders]


def mergeable_orders() -> QuerySet[Order]:
    """Orders the merge queue considers: confirmed (Order.MERGEABLE) and so before picking, which the
    partial index `order_merge_candidates` covers."""
    return Order.objects.filter(status__in=Order.MERGEABLE)


def merge_key(*, across_channels: bool) -> list[str]:
    return ["phone", "address_key"] if across_channels else ["phone", "address_key", "channel_id"]


def merge_candidate_keys(*, across_channels: bool, limit: int = 100) -> list[tuple]:
    """One query over the open orders: the (phone, address_key[, channel_id]) that two or more
    mergeable orders share, not all in one merge already, oldest first (by their first order)."""
    key = merge_key(across_channels=across_channels)
    rows = merge_detection_query(across_channels=across_channels)[:limit]
    return [tuple(row[name] for name in key) for row in rows]


def merge_detection_query(*, across_channels: bool) -> QuerySet:
    """The merge queue's detection query (bench/merge_detection.py measures it at 1,000,000 orders):
    a GROUP BY over the orders the partial index `order_merge_candidates` holds."""
    key = merge_key(across_channels=across_channels)
    return (
        mergeable_orders()
        .exclude(address_key="")
        .values(*key)
        .annotate(
            count=Count("id"),
            alone=Count("id", filter=Q(merge__isnull=True)),
            merges=Count("merge", distinct=True),
            first=Min("id"),
        )
        .filter(count__gt=1)
        .exclude(alone=0, merges=1)
        .order_by("first")
    )


def merge_groups(*, across_channels: bool, limit: int = 100) -> list[MergeGroup]:
    """The merge queue: groups of candidate orders, with their channels; two queries."""
    keys = merge_candidate_keys(across_channels=across_channels, limit=limit)
    if not keys:
        return []
    names = merge_key(across_channels=across_channels)
    match = Q()
    for key in keys:
        match |= Q(**dict(zip(names, key, strict=True)))
    groups: dict[tuple, MergeGroup] = {}
    for key in keys:
        groups[key] = MergeGroup(phone=key[0], address_key=key[1], orders=[])
    for order in mergeable_orders().filter(match).select_related("channel").order_by("pk"):
        key = tuple(getattr(order, name) for name in names)
        if key in groups:
            groups[key].orders.append(order)
    return [group for group in groups.values() if len(group.orders) > 1]


def merged_before_picking(*, limit: int = 100) -> list[tuple[int, list[Order]]]:
    """Merged groups none of whose orders is on a pick list yet (they may still be unmerged), as
    (merge id, orders ascending), oldest merge first; two queries."""
    picked = Order.objects.filter(merge__isnull=False).exclude(status__in=Order.BEFORE_PICKING).values("merge_id")
    merge_ids = list(
        Order.objects.filter(status__in=Order.BEFORE_PICKING, merge__isnull=False)
        .exclude(merge_id__in=picked)
        .values_list("merge_id", flat=True)
        .distinct()
        .order_by("merge_id")[:limit]
    )
    grouped: dict[int, list[Order]] = {merge_id: [] for merge_id in merge_ids}
    for order in Order.objects.filter(merge_id__in=merge_ids).select_related("channel").order_by("pk"):
        grouped[order.merge_id].append(order)
    return list(grouped.items())


# The order desk: what a page of the order list or the review queue shows besides the orders' own
# columns, one query per page each (docs/architecture.md, "Finding orders").


def channels() -> QuerySet[Channel]:
    return Channel.objects.order_by("name")


def lines_of_orders(order_ids: list[int]) -> dict[int, list[tuple[str, int, int]]]:
    """{order id: [(sku, quantity, product id), ...]} in line order, for one page of orders; a gift
    line's SKU is marked as a gift (docs/architecture.md, "Bundles, gifts and channel SKUs")."""
    lines: dict[int, list[tuple[str, int, int]]] = {order_id: [] for order_id in order_ids}
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "id")
        .values_list("order_id", "sku", "quantity", "product_id", "is_gift")
    )
    gift = _("Gift")
    for order_id, sku, quantity, product_id, is_gift in rows:
        lines[order_id].append((f"{sku} ({gift})" if is_gift else sku, quantity, product_id))
    return lines


def available_stock(product_ids: set[int]) -> dict[int, int]:
    """{product id: units available (on hand less reserved) summed over the warehouses that take
    reservations (active, reservations not paused)}, for the products of one page of the review
    queue: what approving an order could reserve, as inventory.services.reserve_each counts it. A
    product none of them stocks is 0."""
    from inventory.models import StockLevel

    available = dict.fromkeys(product_ids, 0)
    rows = (
        StockLevel.objects.filter(
            product_id__in=product_ids, warehouse__active=True, warehouse__reservations_paused_because=""
        )
        .values("product_id")
        .annotate(units=Sum(F("on_hand") - F("reserved")))
        .values_list("product_id", "units")
    )
    for product_id, units in rows:
        available[product_id] = units or 0
    return available


def available_to_channel(channel: Channel, products: list[Product]) -> dict[int, int]:
    """Each product's available-to-sell for `channel` (docs/architecture.md, "Stock per channel"):
    its available units (`products` carry them as `available`, from
    inventory.selectors.products_with_available_stock) less what the channel keeps back, never
    below zero; a bundle, as many as its components' shares make. Two queries when the channel
    keeps anything back (its buffers of these products and their components, and the bundles'
    components), none otherwise."""
    default = channel.default_keep_back()
    ids = [product.pk for product in products]
    buffers = {
        buffer.product_id: buffer.keep_back()
        for buffer in ChannelStockBuffer.objects.filter(channel=channel).filter(
            Q(product_id__in=ids) | Q(product__in_bundles__bundle_id__in=ids)
        )
    }
    if default is None and not buffers:
        return {product.pk: product.available for product in products}

    def share(product_id: int, available: int) -> int:
        rule = buffers.get(product_id, default)
        return rule.leaves(available) if rule is not None else max(available, 0)

    bundles = bundle_availability(ids, share=share)
    return {
        product.pk: bundles[product.pk] if product.pk in bundles else share(product.pk, product.available)
        for product in products
    }
