"""Keeping the daily rollups: what the lower apps' services announce (orders placed, an order's
status change, a payment, a parcel's step, a corrected province; docs/architecture.md, "Events")
becomes increments to a few rollup rows (the `count_*` functions), and `rebuild` recomputes every row
from those records with the database's GROUP BY, sharing no code with the live path, and compares.

The increments of one change are written right after its transaction commits, in one short
transaction of their own, one upsert per row (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`,
on PostgreSQL and SQLite alike), rows always in the same order. So concurrent changes never lose an
increment, the services never hold a rollup row while they work (a pick list of two hundred orders
would otherwise keep today's counters locked for all of it, and two of them could deadlock), and a
rolled-back change counts nothing. Should a process die in the instant between its commit and that
write, `manage.py rebuild_rollups` (run nightly) finds and repairs the difference."""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DecimalField,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Round, TruncDate
from django.db.models.lookups import GreaterThanOrEqual

from aftersales.models import Feedback, ReturnLine, ReturnReason, ReturnRequest, Ticket
from aftersales.selectors.tickets import SATISFIED_AT_OR_ABOVE
from logistics.models import PackingScanRefusal, Shipment, ShipmentLine
from orders.models import Order, OrderEvent, OrderLine, Payment
from orders.services import CapturedPayment

from .models import (
    ROLLUPS,
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

Status = Order.Status

# How far each status is along the order cycle; the funnel counts an order at every stage up to the
# furthest it reached (an order may skip one: picking goes straight to partially shipped).
FUNNEL = ["confirmed", "picking", "packed", "shipped", "delivered", "completed"]
STAGE_OF = {
    Status.PENDING: 0,
    Status.AWAITING_PAYMENT: 0,
    Status.ON_HOLD: 0,
    Status.CONFIRMED: 1,
    Status.PICKING: 2,
    Status.PACKED: 3,
    Status.PARTIALLY_SHIPPED: 4,
    Status.SHIPPED: 4,
    Status.DELIVERED: 5,
    Status.COMPLETED: 6,
    # Came back after it left: as far as shipped, and counted apart (returned_orders).
    Status.RETURNED: 4,
}
# The statuses an order's first parcel leaving takes it to.
FIRST_DISPATCH = (Status.PARTIALLY_SHIPPED, Status.SHIPPED)
# Order steps a person is credited with: who ended the wait in `from` status by moving the order on.
ORDER_STEPS = {
    (Status.ON_HOLD, Status.CONFIRMED): Step.REVIEW,
    (Status.ON_HOLD, Status.CANCELLED): Step.REVIEW,
    (Status.CONFIRMED, Status.PICKING): Step.PICK,
}
# Handling times are kept in buckets (lower bounds, in seconds) so a median can be read from
# rollups: 0, 1, 2, 3, 5, 10, 15, 20, 30, 45 minutes, 1, 1.5, 2, 3, 4, 6, 8, 12 hours, 1, 1.5, 2, 3,
# 5, 7, 14 and 30 days.
MINUTE, HOUR, DAY = 60, 3600, 86400
HANDLING_BUCKETS = (
    [m * MINUTE for m in (0, 1, 2, 3, 5, 10, 15, 20, 30, 45)]
    + [int(h * HOUR) for h in (1, 1.5, 2, 3, 4, 6, 8, 12)]
    + [int(d * DAY) for d in (1, 1.5, 2, 3, 5, 7, 14, 30)]
)


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime, zone: tzinfo | None = None) -> date:
    return moment.astimezone(zone or shop_zone()).date()


def handling_bucket(seconds: int) -> int:
    return HANDLING_BUCKETS[bisect_right(HANDLING_BUCKETS, max(seconds, 0)) - 1]


def _seconds_between(start, end):
    """Whole seconds from start to end, never below 0."""
    return max(0, (end - start) // timedelta(seconds=1))


class Increments:
    """Amounts to add to rollup rows, merged per row."""

    def __init__(self, zone=None):
        self.zone = zone or shop_zone()
        self.rows = {}

    def add(self, model, key, **amounts):
        row = self.rows.setdefault((model, key), {})
        for name, amount in amounts.items():
            row[name] = row.get(name, 0) + amount

    def day(self, moment):
        return local_day(moment, self.zone)

    def of(self, model):
        """(key, amounts) of one rollup, keys in order."""
        return sorted(((key, amounts) for (m, key), amounts in self.rows.items() if m is model), key=lambda row: row[0])


# Counting: what each record adds ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderFacts:
    channel_id: int
    placed_at: datetime
    province: str
    total: Decimal


def count_placed(increments: Increments, order: OrderFacts, lines: Iterable[Sequence[int | Decimal]]) -> None:
    """A new order: its value, province and lines ((product_id, quantity, line_total) triples)."""
    day = increments.day(order.placed_at)
    increments.add(DailyOrders, (day, order.channel_id), orders=1, gmv=order.total)
    increments.add(DailyProvinceOrders, (day, order.channel_id, order.province), orders=1, gmv=order.total)
    for product_id, quantity, line_total in lines:
        increments.add(DailyProductSales, (day, order.channel_id, product_id), quantity=quantity, revenue=line_total)


def count_move(
    increments: Increments,
    order: OrderFacts,
    *,
    from_status: str,
    to_status: str,
    actor_id: int | None,
    at: datetime,
    entered_at: datetime,
) -> None:
    """An order moved from one status to another at `at`, having entered `from_status` at `entered_at`."""
    placed_key = (increments.day(order.placed_at), order.channel_id)
    if to_status == Status.CANCELLED:
        increments.add(DailyOrders, placed_key, cancelled_orders=1)
    elif to_status == Status.RETURNED:
        increments.add(DailyOrders, placed_key, returned_orders=1)
    else:
        reached = FUNNEL[STAGE_OF[from_status] : STAGE_OF[to_status]]
        if reached:
            increments.add(DailyOrders, placed_key, **{f"reached_{stage}": 1 for stage in reached})
    if from_status == to_status:
        return
    day, seconds = increments.day(at), _seconds_between(entered_at, at)
    increments.add(DailyStageTime, (day, order.channel_id, from_status), stays=1, seconds=seconds)
    step = ORDER_STEPS.get((from_status, to_status))
    if step and actor_id:
        count_handling(increments, day=day, user_id=actor_id, step=step, warehouse_id=0, seconds=seconds)


def reaches_delivered(from_status: str, to_status: str) -> bool:
    """Whether this step takes an order to delivered (or past it) for the first time: the step the
    gross margin counts its goods on."""
    stage = FUNNEL.index("delivered") + 1
    return STAGE_OF.get(from_status, 0) < stage <= STAGE_OF.get(to_status, 0)


CENT = Decimal("0.01")


def count_delivered_goods(
    increments: Increments, order: OrderFacts, lines: Iterable[tuple[int, Decimal, Decimal]]
) -> None:
    """An order reached delivered: its goods' revenue (line totals) and cost (each line's units ×
    its unit cost when placed, to the cent) count for the gross margin of the day it was placed.
    `lines` are (quantity, unit cost, line total) triples."""
    revenue, cost = Decimal("0"), Decimal("0")
    for quantity, unit_cost, line_total in lines:
        revenue += line_total
        cost += (quantity * unit_cost).quantize(CENT, ROUND_HALF_UP)
    increments.add(
        DailyOrders,
        (increments.day(order.placed_at), order.channel_id),
        delivered_revenue=revenue,
        delivered_cost=cost,
    )


def count_first_dispatch(
    increments: Increments, *, channel_id: int, shipped_at: datetime, due_at: datetime | None
) -> None:
    """An order's first parcel left at `shipped_at`: with a ship-by time, it counts once, on time
    or late (docs/architecture.md, "Ship-by deadlines")."""
    if due_at is None:
        return
    increments.add(
        DailyDispatchDeadlines,
        (increments.day(shipped_at), channel_id),
        dispatched_with_deadline=1,
        dispatched_on_time=int(shipped_at <= due_at),
    )


def count_handling(
    increments: Increments, *, day: date, user_id: int, step: Step, warehouse_id: int, seconds: int
) -> None:
    increments.add(DailyHandling, (day, user_id, step, warehouse_id, handling_bucket(seconds)), handled=1)


def count_payment(increments: Increments, order: OrderFacts, *, amount: Decimal, paid_before: Decimal) -> None:
    """A captured payment; the order counts as paid once, by the payment that completes it."""
    if paid_before < order.total <= paid_before + amount:
        increments.add(DailyOrders, (increments.day(order.placed_at), order.channel_id), paid_orders=1)


@dataclass(frozen=True)
class ShipmentFacts:
    channel_id: int
    warehouse_id: int
    order_placed_at: datetime
    created_at: datetime
    packed_at: datetime | None
    packed_by_id: int | None
    shipped_at: datetime | None
    dispatched_by_id: int | None
    delivered_at: datetime | None
    expected_delivery_on: object
    packing_started_at: datetime | None = None
    units: int = 0


def count_packed(increments: Increments, shipment: ShipmentFacts) -> None:
    """Packed: the packer is credited, with the time since the pick list made the parcel, and
    with its units and the time from its first scan to its closing (when that scan is known)."""
    if shipment.packed_by_id:
        day = increments.day(shipment.packed_at)
        count_handling(
            increments,
            day=day,
            user_id=shipment.packed_by_id,
            step=Step.PACK,
            warehouse_id=shipment.warehouse_id,
            seconds=_seconds_between(shipment.created_at, shipment.packed_at),
        )
        amounts = {"units": shipment.units}
        if shipment.packing_started_at:
            amounts.update(
                timed_units=shipment.units,
                seconds=_seconds_between(shipment.packing_started_at, shipment.packed_at),
            )
        increments.add(DailyPacking, (day, shipment.packed_by_id, shipment.warehouse_id), **amounts)


def count_refused_scan(increments: Increments, *, scanned_at: datetime, user_id: int, warehouse_id: int) -> None:
    """A scan the packing station refused the packer: their accuracy, on the day of the scan."""
    increments.add(DailyPacking, (increments.day(scanned_at), user_id, warehouse_id), refused_scans=1)


def count_dispatched(increments: Increments, shipment: ShipmentFacts) -> None:
    day = increments.day(shipment.shipped_at)
    increments.add(
        DailyShipments,
        (day, shipment.channel_id, shipment.warehouse_id),
        dispatched=1,
        order_to_dispatch_seconds=_seconds_between(shipment.order_placed_at, shipment.shipped_at),
    )
    if shipment.dispatched_by_id:
        waited_since = shipment.packed_at or shipment.created_at
        count_handling(
            increments,
            day=day,
            user_id=shipment.dispatched_by_id,
            step=Step.DISPATCH,
            warehouse_id=shipment.warehouse_id,
            seconds=_seconds_between(waited_since, shipment.shipped_at),
        )


def count_delivered(increments: Increments, shipment: ShipmentFacts) -> None:
    day = increments.day(shipment.delivered_at)
    amounts = {"delivered": 1}
    if shipment.shipped_at:
        amounts.update(
            delivery_timed=1, dispatch_to_delivery_seconds=_seconds_between(shipment.shipped_at, shipment.delivered_at)
        )
    if shipment.expected_delivery_on:
        amounts.update(promised=1, on_time=int(day <= shipment.expected_delivery_on))
    increments.add(DailyShipments, (day, shipment.channel_id, shipment.warehouse_id), **amounts)


def count_province_change(increments: Increments, order: OrderFacts, *, before: str, after: str) -> None:
    day = increments.day(order.placed_at)
    increments.add(DailyProvinceOrders, (day, order.channel_id, before), orders=-1, gmv=-order.total)
    increments.add(DailyProvinceOrders, (day, order.channel_id, after), orders=1, gmv=order.total)


# The live path: what the services announce -----------------------------------------------------
#
# AnalyticsConfig.ready() subscribes these to the events of orders and logistics (docs/architecture.md,
# "Events"); each is called inside the announcing service's transaction, with the rows it wrote.


def _order_facts(order):
    return OrderFacts(order.channel_id, order.placed_at, order.province, order.total)


def _after_commit(increments):
    if not increments.rows:
        return

    def write_rollups():
        apply(increments)

    # robust: the change itself is committed by now; a failed rollup write is logged, not shown to
    # the person who made the change, and the nightly rebuild repairs it.
    transaction.on_commit(write_rollups, robust=True)


def orders_placed(*, orders: list[Order], order_events: list[OrderEvent], payments: list[Payment]) -> None:
    """New orders (intake places many at once): their value, province and lines, their first step
    out of pending, and what was paid to the channel; one rollup write for all of them."""
    lines = defaultdict(list)
    for order_id, *line in (
        OrderLine.objects.filter(order_id__in=[order.pk for order in orders])
        .order_by("pk")
        .values_list("order_id", "product_id", "quantity", "line_total")
    ):
        lines[order_id].append(line)
    increments = Increments()
    for order in orders:
        count_placed(increments, _order_facts(order), lines[order.pk])
    for event in order_events:
        order = _order_facts(event.order)
        count_move(
            increments,
            order,
            from_status=event.from_status,
            to_status=event.to_status,
            actor_id=event.actor_id,
            at=event.created_at,
            entered_at=order.placed_at,
        )
    for payment in payments:
        # The order's first payment: nothing was paid before it.
        if payment.status == Payment.Status.CAPTURED:
            count_payment(increments, _order_facts(payment.order), amount=payment.amount, paid_before=Decimal("0"))
    _after_commit(increments)


def order_status_changed(*, order_event: OrderEvent) -> None:
    """A placed order moved on: the funnel, a cancellation, the time it spent in the status it left,
    who moved it, and, when its first parcel left, whether it left by its ship-by time."""
    order = order_event.order
    increments = Increments()
    count_move(
        increments,
        _order_facts(order),
        from_status=order_event.from_status,
        to_status=order_event.to_status,
        actor_id=order_event.actor_id,
        at=order_event.created_at,
        entered_at=_entered_at(order_event),
    )
    # The order's own step, not the parcel's: every order of a merged parcel leaves with it, and the
    # later parcels of a partial shipment move it from partially shipped, so each order counts once,
    # by the shipped_at its first parcel gave it (what the rebuild reads).
    if order_event.from_status in Order.NOT_DISPATCHED and order_event.to_status in FIRST_DISPATCH:
        count_first_dispatch(
            increments, channel_id=order.channel_id, shipped_at=order.shipped_at, due_at=order.dispatch_due_at
        )
    if reaches_delivered(order_event.from_status, order_event.to_status):
        count_delivered_goods(
            increments,
            _order_facts(order),
            OrderLine.objects.filter(order_id=order.pk).values_list("quantity", "unit_cost", "line_total"),
        )
    _after_commit(increments)


def _entered_at(event):
    """When the order entered the status this event takes it out of."""
    return (
        OrderEvent.objects.filter(order_id=event.order_id, to_status=event.from_status)
        .exclude(from_status=event.from_status)
        .exclude(pk=event.pk)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    ) or event.created_at


def payment_captured(*, payment: Payment) -> None:
    """Money received for a placed order; the one payment that completes its total counts it paid."""
    if payment.status != Payment.Status.CAPTURED:
        return
    paid_before = Payment.objects.filter(
        order_id=payment.order_id, status=Payment.Status.CAPTURED, pk__lt=payment.pk
    ).aggregate(paid=Sum("amount"))["paid"] or Decimal("0")
    increments = Increments()
    count_payment(increments, _order_facts(payment.order), amount=payment.amount, paid_before=paid_before)
    _after_commit(increments)


def payments_captured(*, payments: list[CapturedPayment]) -> None:
    """Money received for many orders at once (a carrier's remittance), each payment with its order
    as it is after the batch: what an order held before the batch is its paid amount less the
    batch's payments to it, so the batch is counted without a query; one rollup write for all."""
    paid_before = defaultdict(Decimal)
    for payment in payments:
        paid_before[payment.order.pk] -= payment.amount
    increments = Increments()
    for payment in payments:
        order = payment.order
        before = order.amount_paid + paid_before[order.pk]
        count_payment(increments, _order_facts(order), amount=payment.amount, paid_before=before)
        paid_before[order.pk] += payment.amount
    _after_commit(increments)


def delivery_address_corrected(*, order: Order, before: dict[str, str]) -> None:
    """An order counted in one province moves to the one it was corrected to (an order still
    pending is not counted yet)."""
    if "province" not in before or order.status == Status.PENDING:
        return
    increments = Increments()
    count_province_change(increments, _order_facts(order), before=before["province"], after=order.province)
    _after_commit(increments)


def order_rewriting(*, order_ids: list[int]) -> Callable[[list[int]], None]:
    """Orders' lines, money or payments are rewritten by hand (an edit, a split that makes a new
    order): what rebuild would count for them is read before and after, and the difference added,
    so the rollups follow without a counting rule of their own for each change."""
    before = recount(order_ids)

    def written(now_ids: list[int]) -> None:
        after = recount(now_ids)
        increments = Increments()
        for sign, counted in ((1, after), (-1, before)):
            for (model, key), amounts in counted.rows.items():
                increments.add(model, key, **{name: sign * amount for name, amount in amounts.items()})
        increments.rows = {row: amounts for row, amounts in increments.rows.items() if any(amounts.values())}
        _after_commit(increments)

    return written


def _shipment_facts(shipment, units=0):
    order = shipment.order
    return ShipmentFacts(
        channel_id=order.channel_id,
        warehouse_id=shipment.warehouse_id,
        order_placed_at=order.placed_at,
        created_at=shipment.created_at,
        packed_at=shipment.packed_at,
        packed_by_id=shipment.packed_by_id,
        shipped_at=shipment.shipped_at,
        dispatched_by_id=shipment.dispatched_by_id,
        delivered_at=shipment.delivered_at,
        expected_delivery_on=shipment.expected_delivery_on,
        packing_started_at=shipment.packing_started_at,
        units=units,
    )


def _count_parcel_step(count, shipment, units=0):
    increments = Increments()
    count(increments, _shipment_facts(shipment, units))
    _after_commit(increments)


def parcel_packed(*, shipment: Shipment) -> None:
    units = shipment.lines.aggregate(units=Sum("quantity"))["units"] or 0
    _count_parcel_step(count_packed, shipment, units)


def packing_scan_refused(*, refusal: PackingScanRefusal) -> None:
    """A refused scan counts against the packer who made it (the system packs without refusals)."""
    if refusal.scanned_by_id:
        increments = Increments()
        count_refused_scan(
            increments,
            scanned_at=refusal.scanned_at,
            user_id=refusal.scanned_by_id,
            warehouse_id=refusal.warehouse_id,
        )
        _after_commit(increments)


def parcel_dispatched(*, shipment: Shipment) -> None:
    _count_parcel_step(count_dispatched, shipment)


def parcel_delivered(*, shipment: Shipment) -> None:
    _count_parcel_step(count_delivered, shipment)


# Writing ---------------------------------------------------------------------------------------


def apply(increments: Increments) -> None:
    """Add the increments to their rows: one upsert per rollup table, rows in key order, in one
    short transaction."""
    with transaction.atomic():
        for model in ROLLUPS:
            rows = increments.of(model)
            # A rewritten order (order_rewriting) takes back part of what it counted: the amounts
            # below zero go through an UPDATE, since the upsert's row to insert may not be negative.
            added = [(key, {n: a for n, a in amounts.items() if a > 0}) for key, amounts in rows]
            taken = [(key, {n: a for n, a in amounts.items() if a < 0}) for key, amounts in rows]
            added = [(key, amounts) for key, amounts in added if amounts]
            taken = [(key, amounts) for key, amounts in taken if amounts]
            if added:
                _upsert(model, added)
            if taken:
                _take_back(model, taken)


def _upsert(model, rows):
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_fields = [model._meta.get_field(name) for name in model.KEY]
    amount_fields = [model._meta.get_field(name) for name in model.amount_fields()]
    columns = [field.column for field in key_fields + amount_fields]
    params = []
    for key, amounts in rows:
        params += [field.get_db_prep_save(value, connection) for field, value in zip(key_fields, key, strict=True)]
        params += [field.get_db_prep_save(amounts.get(field.attname, 0), connection) for field in amount_fields]
    row_placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))}) "
        f"VALUES {', '.join([row_placeholder] * len(rows))} "
        f"ON CONFLICT ({', '.join(quote(field.column) for field in key_fields)}) DO UPDATE SET "
        + ", ".join(
            f"{quote(f.column)} = {table}.{quote(f.column)} + EXCLUDED.{quote(f.column)}" for f in amount_fields
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _take_back(model, rows):
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_fields = [model._meta.get_field(name) for name in model.KEY]
    with connection.cursor() as cursor:
        for key, amounts in rows:
            fields = [model._meta.get_field(name) for name in sorted(amounts)]
            cursor.execute(
                f"UPDATE {table} SET "
                + ", ".join(f"{quote(f.column)} = {quote(f.column)} + %s" for f in fields)
                + " WHERE "
                + " AND ".join(f"{quote(f.column)} = %s" for f in key_fields),
                [f.get_db_prep_save(amounts[f.name], connection) for f in fields]
                + [f.get_db_prep_save(value, connection) for f, value in zip(key_fields, key, strict=True)],
            )


# Rebuilding from the records -------------------------------------------------------------------
#
# The recomputation is the same arithmetic done by the database, in a few GROUP BY queries over all
# orders, events, payments and shipments, instead of record by record in Python: a million orders
# take a minute or so, not half an hour. It shares no code with the counting above, so agreeing with
# it says that the live path missed nothing and counted nothing twice.

# Shipment lines are read only for packed parcels, whose lines no longer change, and no parcel is
# packed while Shipment is locked: a packing station's accepted scans keep going during a rebuild.
SOURCE_TABLES = [Order, OrderLine, OrderEvent, Payment, Shipment, PackingScanRefusal, ArchivedFigures]
CHUNK = 5000


@dataclass
class RollupCheck:
    model: type
    rows: int
    differing: int


class WholeSeconds(Func):
    """Whole seconds from the first timestamp to the second, never below 0 (as _seconds_between)."""

    arity = 2
    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        start, end = self.source_expressions
        return Func(
            end,
            start,
            arg_joiner=" - ",
            template="GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)))::bigint)",
            output_field=self.output_field,
        ).as_sql(compiler, connection)

    def as_sqlite(self, compiler, connection, **extra):
        start, end = self.source_expressions
        # Django's own SQLite function: microseconds from the second argument to the first.
        return Func(
            end,
            start,
            template="MAX(0, django_timestamp_diff(%(expressions)s) / 1000000)",
            output_field=self.output_field,
        ).as_sql(compiler, connection)


def _day(field):
    return TruncDate(field, tzinfo=shop_zone())


def _bucket(seconds):
    """handling_bucket() of an expression."""
    return Case(
        *[When(GreaterThanOrEqual(seconds, lower), then=Value(lower)) for lower in reversed(HANDLING_BUCKETS)],
        output_field=IntegerField(),
    )


def _add_rows(increments, model, rows, key, amounts):
    for row in rows.order_by():
        increments.add(model, tuple(row[name] for name in key), **{name: row[name] or 0 for name in amounts})


def recount(order_ids: list[int] | None = None) -> Increments:
    """Every rollup row recomputed from the records (only those of `order_ids` when given), as an
    Increments."""
    increments = Increments()

    def of_orders(queryset, order_field="order_id"):
        return queryset if order_ids is None else queryset.filter(**{f"{order_field}__in": order_ids})

    _recount_orders(increments, of_orders)
    _recount_events(increments, of_orders)
    _recount_shipments(increments, of_orders)
    if order_ids is None:
        # Refused scans stay when their order is archived or rewritten: only the whole recount
        # reads them.
        _recount_refused_scans(increments)
    return increments


def _recount_orders(increments, of_orders):
    # Live, an order is counted by its first event, which takes it out of pending.
    counted = of_orders(Order.objects, "pk").exclude(status=Status.PENDING).annotate(day=_day("placed_at"))
    _add_rows(
        increments,
        DailyOrders,
        counted.values("day", "channel_id").annotate(orders=Count("pk"), gmv=Sum("total")),
        ("day", "channel_id"),
        ("orders", "gmv"),
    )
    _add_rows(
        increments,
        DailyProvinceOrders,
        counted.values("day", "channel_id", "province").annotate(orders=Count("pk"), gmv=Sum("total")),
        ("day", "channel_id", "province"),
        ("orders", "gmv"),
    )
    lines = (
        of_orders(OrderLine.objects)
        .exclude(order__status=Status.PENDING)
        .annotate(day=_day("order__placed_at"), channel_id=F("order__channel_id"))
    )
    _add_rows(
        increments,
        DailyProductSales,
        lines.values("day", "channel_id", "product_id").annotate(quantity=Sum("quantity"), revenue=Sum("line_total")),
        ("day", "channel_id", "product_id"),
        ("quantity", "revenue"),
    )
    # An order's shipped_at is its first parcel's dispatch, set once.
    _add_rows(
        increments,
        DailyDispatchDeadlines,
        of_orders(Order.objects, "pk")
        .filter(shipped_at__isnull=False, dispatch_due_at__isnull=False)
        .annotate(day=_day("shipped_at"))
        .values("day", "channel_id")
        .annotate(
            dispatched_with_deadline=Count("pk"),
            dispatched_on_time=Count("pk", filter=Q(shipped_at__lte=F("dispatch_due_at"))),
        ),
        ("day", "channel_id"),
        ("dispatched_with_deadline", "dispatched_on_time"),
    )
    # Payments are positive, so exactly one of them completes an order once they reach its total.
    paid = (
        Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.CAPTURED)
        .values("order")
        .annotate(paid=Sum("amount"))
        .values("paid")
    )
    _add_rows(
        increments,
        DailyOrders,
        counted.filter(total__gt=0)
        .annotate(paid=Subquery(paid))
        .filter(paid__gte=F("total"))
        .values("day", "channel_id")
        .annotate(paid_orders=Count("pk")),
        ("day", "channel_id"),
        ("paid_orders",),
    )


def _recount_events(increments, of_orders):
    by_cohort = of_orders(OrderEvent.objects).annotate(day=_day("order__placed_at"), channel_id=F("order__channel_id"))
    _add_rows(
        increments,
        DailyOrders,
        by_cohort.filter(to_status=Status.CANCELLED).values("day", "channel_id").annotate(cancelled_orders=Count("pk")),
        ("day", "channel_id"),
        ("cancelled_orders",),
    )
    _add_rows(
        increments,
        DailyOrders,
        by_cohort.filter(to_status=Status.RETURNED).values("day", "channel_id").annotate(returned_orders=Count("pk")),
        ("day", "channel_id"),
        ("returned_orders",),
    )
    for stage_number, stage in enumerate(FUNNEL, start=1):
        _add_rows(
            increments,
            DailyOrders,
            by_cohort.filter(
                from_status__in=[status for status, rank in STAGE_OF.items() if rank < stage_number],
                to_status__in=[status for status, rank in STAGE_OF.items() if rank >= stage_number],
            )
            .values("day", "channel_id")
            .annotate(**{f"reached_{stage}": Count("pk")}),
            ("day", "channel_id"),
            (f"reached_{stage}",),
        )

    delivered_stage = FUNNEL.index("delivered") + 1
    delivered = of_orders(OrderEvent.objects).filter(
        from_status__in=[status for status, rank in STAGE_OF.items() if rank < delivered_stage],
        to_status__in=[status for status, rank in STAGE_OF.items() if rank >= delivered_stage],
    )
    _add_rows(
        increments,
        DailyOrders,
        OrderLine.objects.filter(order_id__in=delivered.values("order_id"))
        .annotate(day=_day("order__placed_at"), channel_id=F("order__channel_id"))
        .values("day", "channel_id")
        .annotate(
            delivered_revenue=Sum("line_total"),
            delivered_cost=Sum(
                Round(F("quantity") * F("unit_cost"), 2, output_field=DecimalField(max_digits=20, decimal_places=2))
            ),
        ),
        ("day", "channel_id"),
        ("delivered_revenue", "delivered_cost"),
    )

    # Each event that moves an order on, joined to the event that brought the order into the status
    # it leaves (the FSM never enters a status twice; a partial shipment's repeats stay in it).
    stays = (
        of_orders(OrderEvent.objects)
        .exclude(from_status=F("to_status"))
        .annotate(
            entering=FilteredRelation(
                "order__events",
                condition=Q(order__events__to_status=F("from_status"))
                & ~Q(order__events__from_status=F("from_status")),
            ),
        )
        .annotate(
            day=_day("created_at"),
            channel_id=F("order__channel_id"),
            seconds=WholeSeconds(
                Case(
                    When(from_status=Status.PENDING, then=F("order__placed_at")),
                    default=Coalesce(F("entering__created_at"), F("created_at")),
                ),
                F("created_at"),
            ),
        )
    )
    _add_rows(
        increments,
        DailyStageTime,
        stays.values("day", "channel_id", "from_status").annotate(stays=Count("pk"), seconds=Sum("seconds")),
        ("day", "channel_id", "from_status"),
        ("stays", "seconds"),
    )
    steps = defaultdict(list)
    for (from_status, to_status), step in ORDER_STEPS.items():
        steps[step].append(Q(from_status=from_status, to_status=to_status))
    for step, pairs in steps.items():
        rows = (
            stays.filter(reduce(operator.or_, pairs), actor_id__isnull=False)
            .annotate(step=Value(step), warehouse_id=Value(0), took_at_least=_bucket(F("seconds")))
            .values("day", "actor_id", "step", "warehouse_id", "took_at_least")
            .annotate(handled=Count("pk"))
        )
        _add_rows(
            increments, DailyHandling, rows, ("day", "actor_id", "step", "warehouse_id", "took_at_least"), ("handled",)
        )


def _recount_shipments(increments, of_orders):
    shipments = of_orders(Shipment.objects).annotate(channel_id=F("order__channel_id"))
    key = ("day", "channel_id", "warehouse_id")
    _add_rows(
        increments,
        DailyShipments,
        shipments.filter(shipped_at__isnull=False)
        .annotate(day=_day("shipped_at"))
        .values(*key)
        .annotate(
            dispatched=Count("pk"), order_to_dispatch_seconds=Sum(WholeSeconds(F("order__placed_at"), F("shipped_at")))
        ),
        key,
        ("dispatched", "order_to_dispatch_seconds"),
    )
    timed = Q(shipped_at__isnull=False)
    _add_rows(
        increments,
        DailyShipments,
        shipments.filter(delivered_at__isnull=False)
        .annotate(day=_day("delivered_at"))
        .values(*key)
        .annotate(
            delivered=Count("pk"),
            delivery_timed=Count("pk", filter=timed),
            dispatch_to_delivery_seconds=Sum(WholeSeconds(F("shipped_at"), F("delivered_at")), filter=timed),
            promised=Count("pk", filter=Q(expected_delivery_on__isnull=False)),
            on_time=Count("pk", filter=Q(expected_delivery_on__gte=_day("delivered_at"))),
        ),
        key,
        ("delivered", "delivery_timed", "dispatch_to_delivery_seconds", "promised", "on_time"),
    )
    handling_key = ("day", "user_id", "step", "warehouse_id", "took_at_least")
    for step, person, done, waited_since in [
        (Step.PACK, "packed_by_id", "packed_at", F("created_at")),
        (Step.DISPATCH, "dispatched_by_id", "shipped_at", Coalesce(F("packed_at"), F("created_at"))),
    ]:
        rows = (
            shipments.filter(**{f"{done}__isnull": False, f"{person}__isnull": False})
            .annotate(
                day=_day(done),
                user_id=F(person),
                step=Value(step),
                took_at_least=_bucket(WholeSeconds(waited_since, F(done))),
            )
            .values(*handling_key)
            .annotate(handled=Count("pk"))
        )
        _add_rows(increments, DailyHandling, rows, handling_key, ("handled",))
    packing_key = ("day", "packed_by_id", "warehouse_id")
    packed = shipments.filter(packed_at__isnull=False, packed_by__isnull=False).annotate(day=_day("packed_at"))
    timed = Q(shipment__packing_started_at__isnull=False)
    _add_rows(
        increments,
        DailyPacking,
        of_orders(ShipmentLine.objects, "shipment__order_id")
        .filter(shipment__packed_at__isnull=False, shipment__packed_by__isnull=False)
        .annotate(
            day=_day("shipment__packed_at"),
            packed_by_id=F("shipment__packed_by_id"),
            warehouse_id=F("shipment__warehouse_id"),
        )
        .values(*packing_key)
        .annotate(units=Sum("quantity"), timed_units=Sum("quantity", filter=timed)),
        packing_key,
        ("units", "timed_units"),
    )
    _add_rows(
        increments,
        DailyPacking,
        packed.filter(packing_started_at__isnull=False)
        .values(*packing_key)
        .annotate(seconds=Sum(WholeSeconds(F("packing_started_at"), F("packed_at")))),
        packing_key,
        ("seconds",),
    )


def _recount_refused_scans(increments):
    _add_rows(
        increments,
        DailyPacking,
        PackingScanRefusal.objects.filter(scanned_by__isnull=False)
        .annotate(day=_day("scanned_at"))
        .values("day", "scanned_by_id", "warehouse_id")
        .annotate(refused_scans=Count("pk")),
        ("day", "scanned_by_id", "warehouse_id"),
        ("refused_scans",),
    )


# Archived orders -------------------------------------------------------------------------------
#
# Orders that leave for the archive leave their figures behind (docs/architecture.md, "Archive"):
# what the recomputation would count for them is kept when they go, and added to it afterwards.

ROLLUP_OF = {model._meta.label_lower: model for model in ROLLUPS}
# The after-sales figures the dashboard counts from the cases themselves (selectors.after_sales_totals),
# kept per day and channel: returns not rejected, complaints about an order, ratings, satisfied ones.
AFTER_SALES = "aftersales"
# And the wrong items each packer sent (selectors.wrong_item_returns), per day, packer and warehouse.
WRONG_ITEMS = "aftersales.wrong_items"


def keep_archived_figures(*, order_ids: list[int]) -> dict:
    """Keep what the recomputation counts for orders about to be archived, and the after-sales
    figures the dashboard counts from their cases, in their archiving transaction
    (orders.events.ORDERS_ARCHIVING): rows of ArchivedFigures, one per rollup row (or day and
    channel) they add to. Moves no rows of its own."""
    increments = recount(order_ids)
    figures = [
        ArchivedFigures(
            rollup=model._meta.label_lower,
            day=key[0],
            channel_id=dict(zip(model.KEY, key, strict=True)).get("channel_id", 0),
            key=[model._meta.get_field(name).get_prep_value(value) for name, value in zip(model.KEY, key, strict=True)],
            amounts=amounts,
        )
        for (model, key), amounts in sorted(
            increments.rows.items(), key=lambda item: (item[0][0]._meta.label, item[0][1])
        )
        if any(amounts.values())
    ]
    figures += [
        ArchivedFigures(rollup=AFTER_SALES, day=day, channel_id=channel_id, key=[day, channel_id], amounts=amounts)
        for (day, channel_id), amounts in sorted(_after_sales_of(order_ids).items())
    ]
    figures += [
        ArchivedFigures(rollup=WRONG_ITEMS, day=day, key=[day, packer, warehouse_id], amounts={"lines": lines})
        for day, packer, warehouse_id, lines in _wrong_items_of(order_ids)
    ]
    ArchivedFigures.objects.bulk_create(figures)
    return {}


def _after_sales_of(order_ids):
    """{(day, channel id): {returns, complaints, ratings, satisfied}} of these orders' cases."""
    counted = defaultdict(lambda: dict.fromkeys(("returns", "complaints", "ratings", "satisfied"), 0))
    sources = [
        (ReturnRequest.objects.exclude(status=ReturnRequest.Status.REJECTED), {"returns": Count("pk")}),
        (Ticket.objects.all(), {"complaints": Count("pk")}),
        (
            Feedback.objects.all(),
            {"ratings": Count("pk"), "satisfied": Count("pk", filter=Q(rating__gte=SATISFIED_AT_OR_ABOVE))},
        ),
    ]
    for records, amounts in sources:
        rows = (
            records.filter(order_id__in=order_ids)
            .annotate(day=_day("created_at"), of_channel=Coalesce("channel_id", Value(0)))
            .values("day", "of_channel")
            .annotate(**amounts)
            .order_by()
        )
        for row in rows:
            for name in amounts:
                counted[row["day"], row["of_channel"]][name] += row[name]
    return counted


def _wrong_items_of(order_ids):
    """(day, packer, warehouse, lines) of these orders' returned wrong items, as
    selectors.wrong_item_returns counts them."""
    shipment = "return_request__order__shipments"
    return (
        ReturnLine.objects.filter(
            return_request__order_id__in=order_ids,
            reason=ReturnReason.WRONG_ITEM,
            **{
                f"{shipment}__lines__order_line": F("order_line"),
                f"{shipment}__purpose": Shipment.Purpose.ORDER,
                f"{shipment}__packed_by__isnull": False,
            },
        )
        .exclude(return_request__status=ReturnRequest.Status.REJECTED)
        .annotate(day=_day("return_request__created_at"))
        .values_list("day", f"{shipment}__packed_by", f"{shipment}__warehouse_id")
        .annotate(lines=Count("pk", distinct=True))
        .order_by("day", f"{shipment}__packed_by", f"{shipment}__warehouse_id")
    )


def add_archived_figures(increments: Increments) -> None:
    """Add the kept figures of archived orders to a recomputation."""
    for rollup, key, amounts in (
        ArchivedFigures.objects.filter(rollup__in=ROLLUP_OF)
        .values_list("rollup", "key", "amounts")
        .iterator(chunk_size=CHUNK)
    ):
        model = ROLLUP_OF[rollup]
        increments.add(
            model,
            tuple(model._meta.get_field(name).to_python(value) for name, value in zip(model.KEY, key, strict=True)),
            **{name: model._meta.get_field(name).to_python(value) for name, value in amounts.items()},
        )


def _stored(model):
    names = list(model.KEY) + model.amount_fields()
    width = len(model.KEY)
    return {
        tuple(row[:width]): dict(zip(names[width:], row[width:], strict=True))
        for row in model.objects.values_list(*names).iterator(chunk_size=CHUNK)
    }


def _same(stored, counted, amount_fields):
    return all((stored or {}).get(name, 0) == (counted or {}).get(name, 0) for name in amount_fields)


def _lock(models, mode):
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN {mode} MODE")


def rebuild(*, replace: bool = True) -> list[RollupCheck]:
    """Recompute every rollup from the records and compare it with the stored rollups; with
    `replace`, store the recomputation. Returns a RollupCheck per rollup.

    Changes to orders, payments and shipments, and refused packing scans, wait while this runs (a
    share lock on their tables), so the recomputation and the stored rows describe the same moment:
    run it at a quiet hour."""
    checks = []
    with transaction.atomic():
        _lock(SOURCE_TABLES, "SHARE")
        counted = recount()
        add_archived_figures(counted)
        _lock(ROLLUPS, "EXCLUSIVE")
        for model in ROLLUPS:
            amount_fields = model.amount_fields()
            fresh = {key: amounts for key, amounts in counted.of(model) if any(amounts.values())}
            stored = _stored(model)
            differing = sum(
                1 for key in fresh.keys() | stored.keys() if not _same(stored.get(key), fresh.get(key), amount_fields)
            )
            checks.append(RollupCheck(model, len(fresh), differing))
            if replace and differing:
                model.objects.all().delete()
                model.objects.bulk_create(
                    (model(**dict(zip(model.KEY, key, strict=True)), **amounts) for key, amounts in fresh.items()),
                    batch_size=CHUNK,
                )
    return checks
