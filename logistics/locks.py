"""Every lock on logistics rows. Shipments come last in the one order every transaction takes its
locks in, after their order, its allocations, stock levels and payments, and a shipment's lines
after the shipment (docs/architecture.md, "Lock order"); a carrier is locked alone, and a
handover batch before anything else its step changes. A pooled tracking number comes after the
parcel it is given to; a pool is locked alone, by the import that fills it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from inventory import locks as inventory_locks
from orders import locks as order_locks
from orders.locks import SettlingOrder
from orders.models import Order

from .models import (
    Carrier,
    CarrierClaim,
    HandoverBatch,
    PooledTrackingNumber,
    ReplacementStock,
    Shipment,
    ShipmentLine,
    TrackingNumberPool,
)


def _shipment_for_update(shipment_id: int) -> Shipment:
    return (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order", "warehouse", "carrier")
        .get(pk=shipment_id)
    )


def parcel_order_ids(shipment_id: int) -> list[int]:
    """The orders whose goods travel in a parcel: its order, and for merged orders every order of
    the merge (docs/architecture.md, "Merging orders"), ascending. Raises Shipment.DoesNotExist."""
    order_id, merge_id = Shipment.objects.values_list("order_id", "merge_id").get(pk=shipment_id)
    if merge_id is None:
        return [order_id]
    return sorted({order_id, *Order.objects.filter(merge_id=merge_id).values_list("pk", flat=True)})


def lock_shipment(shipment_id: int) -> Shipment:
    """Lock a shipment after its order (every order of a merged parcel, ascending); raises
    Shipment.DoesNotExist."""
    order_locks.lock_orders(parcel_order_ids(shipment_id))
    return _shipment_for_update(shipment_id)


def lock_shipment_to_pack(shipment_id: int) -> Shipment:
    """Lock a shipment for a packing scan, without its order: a scan changes only the parcel's lines
    and locks nothing else, so it need not queue behind the order's other work."""
    return _shipment_for_update(shipment_id)


def lock_shipment_to_dispatch(shipment_id: int) -> Shipment:
    """Lock a shipment about to leave after everything its dispatch changes that comes before it in
    the lock order: its order, the order's reserved allocations and the stock levels they sit on
    in the shipment's warehouse. A replacement's stock is its own (ReplacementStock), so its stock
    levels come after the order instead; a repair parcel moves no stock, so only its order comes first."""
    warehouse_id, purpose = Shipment.objects.values_list("warehouse_id", "purpose").get(pk=shipment_id)
    order_ids = [order.pk for order in order_locks.lock_orders(parcel_order_ids(shipment_id))]
    if purpose == Shipment.Purpose.ORDER:
        order_locks.lock_reserved_goods(order_ids, warehouse_id=warehouse_id)
    elif purpose == Shipment.Purpose.REPLACEMENT:
        inventory_locks.lock_stock_levels(_replacement_stock_levels(Q(line__shipment_id=shipment_id)))
    return _shipment_for_update(shipment_id)


def _replacement_stock_levels(which: Q) -> set[int]:
    """The stock levels holding replacement units still reserved, among the rows `which` picks."""
    return set(
        ReplacementStock.objects.filter(which, state=ReplacementStock.State.RESERVED).values_list(
            "stock_level_id", flat=True
        )
    )


def lock_shipment_lines(shipment: Shipment) -> list[ShipmentLine]:
    """Lock a locked shipment's lines, by primary key, with their order lines and products read."""
    return list(
        ShipmentLine.objects.select_for_update(of=("self",))
        .select_related("order_line__product")
        .filter(shipment=shipment)
        .order_by("pk")
    )


def lock_open_shipments(order: Order) -> list[Shipment]:
    """Lock a locked order's shipments that have not left, by primary key: its own, and a merged
    group's parcel that carries its goods (the group's orders are locked with it)."""
    carrying = ShipmentLine.objects.filter(order_line__order=order).values("shipment_id")
    return list(
        Shipment.objects.select_for_update()
        .filter(Q(order=order) | Q(pk__in=carrying), status__in=Shipment.OPEN)
        .order_by("pk")
    )


def lock_orders_to_dispatch(order_ids: Iterable[int]) -> None:
    """Lock the orders of a multi-order dispatch, then their reserved allocations and the stock
    levels those sit on, all by primary key, before any one parcel is dispatched: each dispatch
    would otherwise lock its own stock rows in turn, and two uploads (or an upload and an intake)
    could wait on each other's rows."""
    order_ids = set(order_ids)
    # A merged order's parcel is dispatched with every order of its merge: lock them all up front.
    merges = Order.objects.filter(pk__in=order_ids, merge__isnull=False).values("merge_id")
    order_ids |= set(Order.objects.filter(merge__in=merges).values_list("pk", flat=True))
    locked = [order.pk for order in order_locks.lock_orders(order_ids)]
    # A replacement parcel among them ships its own reserved units: their stock levels are locked
    # in the same statement as the allocations', so every stock row is taken in key order at once.
    order_locks.lock_reserved_goods(
        locked, also_stock_levels=_replacement_stock_levels(Q(line__order_line__order_id__in=locked))
    )


def lock_orders_of_parcels(tracking_numbers: Iterable[str]) -> None:
    """Lock, by primary key, the orders of the parcels with these tracking numbers, before any of
    the parcels: a tracking file may name parcels of many orders in any order."""
    parcels = Shipment.objects.filter(tracking_number__in=set(tracking_numbers) - {""})
    order_ids = {*parcels.values_list("order_id", flat=True)}
    order_ids |= {*Order.objects.filter(merge__in=parcels.values("merge_id")).values_list("pk", flat=True)}
    order_locks.lock_orders(order_ids)


def lock_carrier(carrier_id: int) -> Carrier | None:
    return Carrier.objects.select_for_update().filter(pk=carrier_id).first()


def lock_shipments(shipment_ids: Iterable[int]) -> list[Shipment]:
    """Lock several shipments of locked orders at once, by primary key, with their orders read."""
    return list(
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order", "carrier")
        .filter(pk__in=shipment_ids)
        .order_by("pk")
    )


def lock_handover_batch(batch_id: int) -> HandoverBatch:
    """Lock a handover batch first of all: scanning and removing change only the batch's own rows,
    confirming then locks its parcels' orders, goods and parcels as a dispatch does. Raises
    HandoverBatch.DoesNotExist."""
    return HandoverBatch.objects.select_for_update(of=("self",)).select_related("carrier").get(pk=batch_id)


def lock_shipments_to_print(shipment_ids: Iterable[int]) -> list[Shipment]:
    """Lock the parcels of a print, by primary key in one statement, without their orders: a print
    writes only the parcels' tracking numbers and label counts, and then the pool numbers it gives
    them, so it need not queue behind their orders' other work (as a packing scan does not)."""
    return list(
        Shipment.objects.select_for_update(of=("self",))
        .select_related("carrier", "service__carrier")
        .filter(pk__in=set(shipment_ids))
        .order_by("pk")
    )


def take_free_numbers(pool_id: int, count: int, *, other_than: Iterable[int] = ()) -> list[PooledTrackingNumber]:
    """Lock up to `count` free numbers of a pool, the first imported first, skipping those another
    print holds at this moment: two prints at once take different numbers without waiting for each
    other. Called with the parcels locked."""
    return list(
        PooledTrackingNumber.objects.select_for_update(skip_locked=True)
        .filter(pool_id=pool_id, shipment__isnull=True, burnt_at__isnull=True)
        .exclude(pk__in=list(other_than))
        .order_by("pk")[:count]
    )


def lock_pool_number_of(shipment_id: int) -> PooledTrackingNumber | None:
    """Lock the pool number a locked parcel holds, if any, to burn it."""
    return (
        PooledTrackingNumber.objects.select_for_update().filter(shipment_id=shipment_id, burnt_at__isnull=True).first()
    )


def lock_pools(service_ids: Iterable[int]) -> dict[int, TrackingNumberPool]:
    """Lock the pools of these carrier services, by primary key, and nothing after them: two imports
    into one pool queue, the second checking its numbers against the first's. {service id: pool}."""
    return {
        pool.service_id: pool
        for pool in TrackingNumberPool.objects.select_for_update(of=("self",))
        .select_related("service__carrier")
        .filter(service_id__in=set(service_ids))
        .order_by("pk")
    }


def lock_parcel_orders(shipment_id: int) -> list[Order]:
    """Lock the orders whose goods travel in a parcel, ascending, and not yet the parcel: an
    interception or a parcel received back settles money (payments and refunds) and books stock
    before it locks the parcel (docs/architecture.md, "Lock order"). Raises Shipment.DoesNotExist."""
    return order_locks.lock_orders(parcel_order_ids(shipment_id))


def lock_shipment_of_locked_orders(shipment_id: int) -> Shipment:
    """Lock a shipment whose orders this transaction has locked already (lock_parcel_orders)."""
    return _shipment_for_update(shipment_id)


def lock_claim(claim_id: int) -> CarrierClaim:
    """Lock a carrier claim alone, with nothing after it: its steps change only the claim and its
    documents. Raises CarrierClaim.DoesNotExist."""
    return CarrierClaim.objects.select_for_update(of=("self",)).select_related("carrier").get(pk=claim_id)


def lock_remitted_orders(order_ids: Iterable[int]) -> dict[int, SettlingOrder]:
    """Lock the orders of a remittance's parcels, ascending by primary key in one statement,
    reading what settling them needs; taken after the remittance rows are written and before
    anything else (docs/architecture.md, "Lock order"). Returns them by id."""
    return {order.pk: order for order in order_locks.lock_orders_to_settle(sorted(set(order_ids)))}
