"""Moving orders' reserved stock from one warehouse to another, when a warehouse cannot send what
it holds (an incident, docs/architecture.md, "Incidents")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from core.actors import Actor, ensure_actor
from inventory import locks as inventory_locks
from inventory import services as inventory
from inventory.models import StockLevel

from .. import locks
from ..models import Allocation, Order


@dataclass
class ReservationsMoved:
    """Orders whose reserved goods moved, and those refused with why (by order id)."""

    moved: list[Order] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


@transaction.atomic
def move_reservations(
    order_ids: Iterable[int], from_warehouse_id: int, to_warehouse_id: int, *, reference: str, actor: Actor
) -> ReservationsMoved:
    """Move each order's goods reserved in one warehouse to the other, order by order: an order
    moves whole or not at all (refused with the SKUs the other warehouse lacks). The orders, their
    allocations and every stock level involved are locked up front, in the lock order; the callers
    check their own permission (logistics.services.move_open_work)."""
    ensure_actor(actor)
    orders = locks.lock_orders(order_ids)
    allocations = locks.lock_reserved_allocations_in([order.pk for order in orders], from_warehouse_id)
    products = {allocation.line.product_id for allocation in allocations}
    inventory_locks.lock_in_key_order(
        StockLevel.objects.filter(pk__in={allocation.stock_level_id for allocation in allocations})
        | StockLevel.objects.filter(warehouse_id=to_warehouse_id, product_id__in=products)
    )
    allocations_of = defaultdict(list)
    for allocation in allocations:
        allocations_of[allocation.line.order_id].append(allocation)
    result = ReservationsMoved()
    for order in orders:
        mine = allocations_of.get(order.pk)
        if not mine:
            continue
        try:
            to_level_of = inventory.transfer_reserved(
                [(allocation.stock_level_id, allocation.quantity) for allocation in mine],
                to_warehouse_id,
                reference=order.number,
                actor=actor,
            )
        except ValidationError as error:
            result.refused[order.pk] = " ".join(error.messages)
            continue
        Allocation.objects.filter(pk__in=[allocation.pk for allocation in mine]).update(state=Allocation.State.RELEASED)
        Allocation.objects.bulk_create(
            Allocation(
                line=allocation.line,
                stock_level=to_level_of[allocation.line.product_id],
                quantity=allocation.quantity,
                ship_later=allocation.ship_later,
            )
            for allocation in mine
        )
        result.moved.append(order)
    return result
