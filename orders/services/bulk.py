"""Acting on many chosen orders at once from the order list (docs/architecture.md, "The order list
at volume"): one staff note on each, and moving their reserved stock to another warehouse before
picking. Each function says whether it is all or nothing or one transaction per order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import SYSTEM, Actor, person
from core.permissions import Orders, require
from inventory import services as inventory
from inventory.models import Warehouse

from .. import locks
from ..models import Allocation, Order, OrderNote


@dataclass
class BulkResult:
    """What a bulk action did: the order numbers done, those it had nothing to do for, and those
    refused with why (by order number)."""

    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@transaction.atomic
def add_notes(order_ids: Iterable[int], *, author: Actor, text: str) -> list[OrderNote]:
    """The same staff note on every order given, all in one transaction (a note refuses no
    single order, so all are written or none)."""
    require(author, Orders.ADD_ORDERNOTE, _("Your role may not add notes to orders."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note first.")})
    user = person(author)
    ids = sorted(Order.objects.filter(pk__in=set(order_ids)).values_list("pk", flat=True))
    return OrderNote.objects.bulk_create(OrderNote(order_id=order_id, author=user, text=text) for order_id in ids)


class _Refused(Exception):
    pass


def change_warehouse(order_ids: Iterable[int], to_warehouse_id: int, *, actor: Actor) -> BulkResult:
    """Move the goods each order has reserved in other warehouses to `to_warehouse_id`, one
    transaction per order: an order moves whole or not at all, refused with the SKUs the other
    warehouse lacks, or because its goods are on a pick list already (only orders before picking,
    Order.BEFORE_PICKING, may move). One order's refusal never holds back another."""
    require(actor, Orders.CHANGE_ORDER_WAREHOUSE, _("Your role may not change the warehouse of orders."))
    warehouse = Warehouse.objects.filter(pk=to_warehouse_id, active=True).first()
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    if warehouse.reservations_paused_because:
        raise ValidationError(
            {
                "warehouse": _("Stock at %(warehouse)s is not promised now: %(reason)s")
                % {"warehouse": warehouse, "reason": warehouse.reservations_paused_because}
            }
        )
    result = BulkResult()
    for order_id in sorted(set(order_ids)):
        try:
            with transaction.atomic():
                number, moved = _move_order(order_id, warehouse, actor)
        except Order.DoesNotExist:
            continue
        except _Refused as refusal:
            number, reason = refusal.args
            result.refused[number] = reason
        else:
            (result.done if moved else result.unchanged).append(number)
    return result


def _move_order(order_id: int, warehouse: Warehouse, actor: Actor) -> tuple[str, bool]:
    """Lock order, then its reserved allocations, then (inventory) every stock level involved in
    one statement: the lock order of docs/architecture.md."""
    order = locks.lock_order(order_id)
    if order.status not in Order.BEFORE_PICKING:
        raise _Refused(
            order.number,
            _("it is %(status)s now; only orders not yet picking change warehouse")
            % {"status": order.get_status_display()},
        )
    allocations = [a for a in locks.lock_reserved_allocations(order) if a.stock_level.warehouse_id != warehouse.pk]
    if not allocations:
        return order.number, False
    try:
        to_level_of = inventory.transfer_reserved(
            [(allocation.stock_level_id, allocation.quantity) for allocation in allocations],
            warehouse.pk,
            reference=order.number,
            actor=actor,
        )
    except ValidationError as error:
        raise _Refused(order.number, " ".join(error.messages)) from None
    lines = {line.pk: line.product_id for line in order.lines.all()}
    Allocation.objects.filter(pk__in=[allocation.pk for allocation in allocations]).update(
        state=Allocation.State.RELEASED
    )
    Allocation.objects.bulk_create(
        Allocation(
            line_id=allocation.line_id, stock_level=to_level_of[lines[allocation.line_id]], quantity=allocation.quantity
        )
        for allocation in allocations
    )
    if actor is not SYSTEM:
        OrderNote.objects.create(
            order=order,
            author=actor,
            text=_("Reserved stock moved to %(warehouse)s.") % {"warehouse": warehouse},
        )
    return order.number, True
