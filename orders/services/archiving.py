"""Moving finished orders out of the live tables into the archive, batch by batch
(docs/architecture.md, "Archive").

A batch is one transaction: the orders are locked, every app names its rows of them (the
ORDERS_ARCHIVING contribution point; the rollups keep their figures then), the rows are copied
into one ArchivedOrder per order and deleted. A run killed at any moment leaves every batch either
done or not begun, and the next run goes on where it stopped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import reduce

from django.conf import settings
from django.db import router, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.actors import Actor
from core.permissions import Orders, require

from .. import locks
from ..events import ARCHIVE_HELD_BACK, ORDERS_ARCHIVING
from ..models import (
    Allocation,
    ArchivedOrder,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    OrderNote,
    OrderTagging,
    Payment,
    Refund,
)

FINISHED_AT = {
    Order.Status.COMPLETED: "completed_at",
    Order.Status.CANCELLED: "cancelled_at",
    Order.Status.RETURNED: "returned_at",
}


def archiving_cutoff(now: datetime | None = None) -> datetime:
    """Orders finished before this moment are old enough for the archive."""
    return (now or timezone.now()) - timedelta(days=settings.ARCHIVE_AFTER_DAYS)


def archivable_orders(cutoff: datetime) -> QuerySet[Order]:
    """Completed, cancelled and returned orders finished before `cutoff` that nothing holds back."""
    finished = reduce(Q.__or__, (Q(status=status, **{f"{field}__lt": cutoff}) for status, field in FINISHED_AT.items()))
    # Money still owed back keeps an order live, whatever the apps above say.
    # An order split from it keeps the original live while it is (it points at the order and may
    # hold part of its payment, Payment.transferred_from); once archived, the original follows.
    held_back = reduce(
        Q.__or__, [Q(refunds__status__in=Refund.OPEN), Q(split_orders__isnull=False), *ARCHIVE_HELD_BACK.publish()]
    )
    # Merged orders shared one parcel: the group is archived together, once every order of it may
    # be (docs/architecture.md, "Merging orders").
    group_kept_live = Order.objects.filter(merge__isnull=False).filter(~finished | held_back).values("merge_id")
    return Order.objects.filter(finished).exclude(held_back).exclude(merge_id__in=group_kept_live)


def _whole_groups(orders):
    """The locked orders whose merged group (if any) is wholly among them: a group split by the
    batch size or by another run's locks waits for a later batch."""
    present = {order.pk for order in orders}
    merge_ids = {order.merge_id for order in orders if order.merge_id}
    members = defaultdict(set)
    for pk, merge_id in Order.objects.filter(merge_id__in=merge_ids).values_list("pk", "merge_id"):
        members[merge_id].add(pk)
    return [order for order in orders if not order.merge_id or members[order.merge_id] <= present]


def _own_rows(order_ids):
    """The orders app's rows of these orders, by model label, each with the order it belongs to."""
    of_order = {"archived_order_id": F("order_id")}
    return {
        "orders.order": Order.objects.filter(pk__in=order_ids).annotate(archived_order_id=F("pk")),
        "orders.orderline": OrderLine.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.allocation": Allocation.objects.filter(line__order_id__in=order_ids).annotate(
            archived_order_id=F("line__order_id")
        ),
        "orders.payment": Payment.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.refund": Refund.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.orderevent": OrderEvent.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.ordernote": OrderNote.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.notification": Notification.objects.filter(order_id__in=order_ids).annotate(**of_order),
        "orders.ordertagging": OrderTagging.objects.filter(order_id__in=order_ids).annotate(**of_order),
    }


def archive_batch(*, actor: Actor, cutoff: datetime, size: int) -> int:
    """Move up to `size` archivable orders (oldest ids first) with all their rows to the archive, in
    one transaction; returns how many moved (0 when none is left)."""
    require(actor, Orders.ARCHIVE_ORDERS)
    with transaction.atomic():
        candidates = list(archivable_orders(cutoff).order_by("pk").values_list("pk", flat=True)[:size])
        # A merged group comes whole, even past the batch size.
        merged = Order.objects.filter(pk__in=candidates, merge__isnull=False).values("merge_id")
        candidates += Order.objects.filter(merge__in=merged).exclude(pk__in=candidates).values_list("pk", flat=True)
        # Checked again under the lock: a return may have been opened since the candidates were read.
        orders = _whole_groups(locks.lock_orders_to_archive(archivable_orders(cutoff).filter(pk__in=candidates)))
        if not orders:
            return 0
        order_ids = [order.pk for order in orders]
        from ..api.serializers import order_answers  # the API's own answer; api imports services

        answers = order_answers(orders)
        parts = _own_rows(order_ids)
        for contribution in ORDERS_ARCHIVING.publish(order_ids=order_ids):
            parts.update(contribution or {})
        rows_of = defaultdict(lambda: defaultdict(list))
        rows_of_batch = set(order_ids)
        moved = []
        for label, queryset in parts.items():
            pk_name = queryset.model._meta.pk.attname
            pks = []
            for row in queryset.order_by().values():
                order_id = row.pop("archived_order_id")
                if order_id not in rows_of_batch:
                    # A row tied to an order outside the batch would be lost with it: refuse.
                    raise ValueError(f"{label} {row[pk_name]} belongs to order {order_id}, not to this batch")
                rows_of[order_id][label].append(row)
                pks.append(row[pk_name])
            moved.append((queryset.model, pks))
        ArchivedOrder.objects.bulk_create(
            [_archived(order, rows_of[order.pk], answers[order.pk]) for order in orders], batch_size=size
        )
        for model, pks in moved:
            _delete(model, pks)
    return len(order_ids)


def _archived(order, rows, answer):
    return ArchivedOrder(
        id=order.pk,
        number=order.number,
        channel_id=order.channel_id,
        channel_order_id=order.channel_order_id,
        customer_id=order.customer_id,
        status=order.status,
        recipient=order.recipient,
        phone=order.phone,
        province=order.province,
        city=order.city,
        currency=order.currency,
        total=order.total,
        payment_status=order.payment_status,
        placed_at=order.placed_at,
        finished_at=getattr(order, FINISHED_AT[order.status]),
        rows={label: list(label_rows) for label, label_rows in rows.items()},
        api_answer=answer,
    )


def _delete(model, pks):
    """Delete rows by primary key without Django's collector: the rows pointing at them (PROTECT)
    are deleted in the same transaction, and the database's foreign keys, checked at commit,
    refuse the batch if any row pointing at them were left behind."""
    using = router.db_for_write(model)
    for start in range(0, len(pks), 1000):
        model._base_manager.filter(pk__in=pks[start : start + 1000])._raw_delete(using)


def archive_finished_orders(
    *,
    actor: Actor,
    cutoff: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Archive every archivable order, one batch per transaction, until none is left (or
    `max_batches` are done); `on_batch` is told each batch's count after it commits. Returns how
    many orders moved. Safe to stop at any moment and to run again."""
    require(actor, Orders.ARCHIVE_ORDERS)
    cutoff = cutoff or archiving_cutoff()
    size = batch_size or settings.ARCHIVE_BATCH_SIZE
    total = batches = 0
    while max_batches is None or batches < max_batches:
        moved = archive_batch(actor=actor, cutoff=cutoff, size=size)
        if not moved:
            break
        total += moved
        batches += 1
        if on_batch is not None:
            on_batch(moved)
    return total
