"""Every lock on after-sales rows. A return request or ticket is locked after its order and before
the order's allocations, stock levels, payments and shipments, in the one order every transaction
takes its locks in (docs/architecture.md, "Lock order")."""

from __future__ import annotations

from orders import locks as order_locks
from orders.models import Order

from .models import ReturnRequest, Ticket


def lock_return(return_id: int) -> ReturnRequest:
    """Lock a return request (its order read, not locked); raises ReturnRequest.DoesNotExist."""
    return ReturnRequest.objects.select_for_update(of=("self",)).select_related("order").get(pk=return_id)


def lock_return_with_order(return_id: int) -> tuple[Order, ReturnRequest]:
    """Lock the return's order and then the return."""
    order_id = ReturnRequest.objects.values_list("order_id", flat=True).get(pk=return_id)
    return order_locks.lock_order(order_id), lock_return(return_id)


def lock_order_for_case(order_id: int) -> Order | None:
    """Lock the order a ticket or a rating is about, with its customer read (not locked: it stays
    free for others); None when there is no such order."""
    return order_locks.orders_for_update().select_related("customer").filter(pk=order_id).first()


def lock_ticket(ticket_id: int) -> Ticket:
    """Lock a ticket, with its customer and order read (not locked); raises Ticket.DoesNotExist."""
    return Ticket.objects.select_for_update(of=("self",)).select_related("customer", "order").get(pk=ticket_id)
