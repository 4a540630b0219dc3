"""Every lock on the orders app's rows. In the one order every transaction takes its locks in
(docs/architecture.md, "Lock order"), an API request's idempotency record comes first, then orders
by primary key, then (after the order's after-sales cases) its reserved allocations, then stock
levels (inventory.locks), then its payments and refunds, and its shipments last (logistics.locks);
channels, customers, notifications and message templates are locked alone, with nothing after them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from inventory import locks as inventory_locks

from .models import (
    Allocation,
    ArchivedOrder,
    Channel,
    ChannelSku,
    ChannelStockBuffer,
    Customer,
    IdempotencyRecord,
    Notification,
    NotificationTemplate,
    Order,
    Payment,
    Refund,
)


def lock_idempotency_record(channel: Channel, key: str) -> IdempotencyRecord:
    """The stored answer under a channel's key, locked; first of all locks, since the request's
    whole work runs while its key is held."""
    return IdempotencyRecord.objects.select_for_update().get(channel=channel, key=key)


def orders_for_update() -> QuerySet[Order]:
    """Orders locked as they are read: only the order rows, whatever else is joined."""
    return Order.objects.select_for_update(of=("self",))


def lock_order(order_id: int) -> Order:
    """Lock one order row; raises Order.DoesNotExist."""
    return orders_for_update().get(pk=order_id)


def lock_orders(order_ids: Iterable[int]) -> list[Order]:
    """Lock several orders at once, by primary key; those that no longer exist are left out."""
    return list(orders_for_update().filter(pk__in=order_ids).order_by("pk"))


@dataclass(slots=True)
class SettlingOrder:
    """What settling many orders at once reads of each, locked (a carrier's remittance): their state
    and money, and what the rollups count a payment by; the rest of the row is left unread. Plain
    values, not Orders: making 50,000 model instances took longer than locking the rows."""

    pk: int
    number: str
    status: str
    payment_method: str
    currency: str
    total: Decimal
    amount_paid: Decimal
    amount_refunded: Decimal
    payment_status: str
    channel_id: int
    placed_at: datetime
    province: str
    merge_id: int | None

    @property
    def balance_due(self) -> Decimal:
        return self.total - self.amount_paid

    def get_status_display(self) -> str:
        return Order.Status(self.status).label


SETTLING_FIELDS = tuple("id" if field.name == "pk" else field.name for field in fields(SettlingOrder))


def lock_orders_to_settle(order_ids: Iterable[int]) -> list[SettlingOrder]:
    """Lock several orders at once, ascending by primary key, in one statement however many."""
    rows = orders_for_update().filter(pk__any=list(order_ids)).order_by("pk").values_list(*SETTLING_FIELDS)
    return [SettlingOrder(*row) for row in rows]


def lock_order_and_merged(order_id: int) -> Order:
    """Lock an order and every order merged with it, by primary key ascending, in one statement
    (docs/architecture.md, "Lock order"); returns the order. Raises Order.DoesNotExist."""
    merge_id = Order.objects.values_list("merge_id", flat=True).get(pk=order_id)
    if merge_id is None:
        return lock_order(order_id)
    locked = list(orders_for_update().filter(Q(pk=order_id) | Q(merge_id=merge_id)).order_by("pk"))
    return next(order for order in locked if order.pk == order_id)


def lock_orders_to_archive(orders: QuerySet[Order]) -> list[Order]:
    """Lock the orders of `orders` that no one else holds, by primary key, skipping those locked
    by another transaction: two archiving runs take different batches instead of waiting
    (docs/architecture.md, "Archive")."""
    return list(orders.select_for_update(of=("self",), skip_locked=True).order_by("pk"))


def lock_reserved_allocations(order: Order) -> list[Allocation]:
    """Lock a locked order's reserved allocations, by primary key, with their stock levels read
    (not locked: those are locked through inventory.locks, after these)."""
    return list(
        Allocation.objects.select_for_update(of=("self",))
        .select_related("stock_level")
        .filter(line__order=order, state=Allocation.State.RESERVED)
        .order_by("pk")
    )


def lock_reserved_goods(
    order_ids: Iterable[int], *, warehouse_id: int | None = None, also_stock_levels: Iterable[int] = ()
) -> list[Allocation]:
    """Lock the reserved allocations of locked orders, then the stock levels they sit on (only those
    in `warehouse_id` when given) with `also_stock_levels` in the same statement, both by primary
    key: what shipping their goods will change, locked before anything that comes later in the
    lock order (a parcel)."""
    allocations = list(
        Allocation.objects.select_for_update(of=("self",))
        .select_related("stock_level")
        .filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED)
        .order_by("pk")
    )
    inventory_locks.lock_stock_levels(
        {
            allocation.stock_level_id
            for allocation in allocations
            if warehouse_id is None or allocation.stock_level.warehouse_id == warehouse_id
        }
        | set(also_stock_levels)
    )
    return allocations


def lock_captured_payments(order: Order) -> list[Payment]:
    """Lock a locked order's captured payments, by primary key."""
    return list(Payment.objects.select_for_update().filter(order=order, status=Payment.Status.CAPTURED).order_by("pk"))


def lock_refund(refund_id: int) -> Refund:
    """Lock a refund after its order and then its payment; the returned refund carries both."""
    order_id, payment_id = Refund.objects.values_list("order_id", "payment_id").get(pk=refund_id)
    order = lock_order(order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    refund.order, refund.payment = order, payment
    return refund


def lock_channel(channel_id: int) -> Channel:
    return Channel.objects.select_for_update().get(pk=channel_id)


def lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer_id)


def lock_notification(notification_id: int) -> Notification | None:
    return Notification.objects.select_for_update().filter(pk=notification_id).first()


def lock_notification_template(template_id: int) -> NotificationTemplate:
    return NotificationTemplate.objects.select_for_update().get(pk=template_id)


def lock_reserved_allocations_in(order_ids: Iterable[int], warehouse_id: int) -> list[Allocation]:
    """Lock the reserved allocations of locked orders that sit in one warehouse, by primary key,
    with their lines read (their stock levels are locked after these, through inventory.locks)."""
    return list(
        Allocation.objects.select_for_update(of=("self",))
        .select_related("line")
        .filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED, stock_level__warehouse_id=warehouse_id)
        .order_by("pk")
    )


def lock_archived_orders_of(customer_ids: Iterable[int]) -> list[int]:
    """Lock the archived orders of these customers, after their live orders (an archiving batch
    holding one of those has committed by then, so the order is found here) and before the
    customers; returns their ids in order."""
    return list(
        ArchivedOrder.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_customers(customer_ids: Iterable[int]) -> list[Customer]:
    """Lock several customers, by primary key, after their orders (erasing their personal data
    locks the orders first); nothing is locked after them."""
    return list(Customer.objects.select_for_update().filter(pk__in=customer_ids).order_by("pk"))


def lock_channel_skus(codes: Iterable[tuple[int, str]]) -> dict[tuple[int, str], ChannelSku]:
    """Lock the channel codes among these (channel id, code) pairs, in primary-key order; an upload
    of codes changes them locked alone, with nothing after them."""
    codes = set(codes)
    found = ChannelSku.objects.select_for_update().filter(
        channel_id__in={channel_id for channel_id, _code in codes}, code__in={code for _channel, code in codes}
    )
    return {(row.channel_id, row.code): row for row in found.order_by("pk") if (row.channel_id, row.code) in codes}


def lock_stock_buffers(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], ChannelStockBuffer]:
    """Lock the stock buffers among these (channel id, product id) pairs, in primary-key order;
    setting buffers locks them alone, with nothing after them (docs/architecture.md, "Stock per
    channel"): intake reads them without a lock."""
    pairs = set(pairs)
    found = ChannelStockBuffer.objects.select_for_update().filter(
        channel_id__in={channel_id for channel_id, _product in pairs},
        product_id__in={product_id for _channel, product_id in pairs},
    )
    return {
        (row.channel_id, row.product_id): row
        for row in found.order_by("pk")
        if (row.channel_id, row.product_id) in pairs
    }
