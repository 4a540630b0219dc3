"""What after-sales has to say when finished orders move to the archive (docs/architecture.md,
"Archive"): which orders must stay live, and its rows of those that move."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from ..models import Feedback, ReturnEvent, ReturnLine, ReturnRequest, Ticket, TicketEvent, TicketMessage


def orders_kept_live() -> Q:
    """Orders with a return or complaint still open, and orders a live return was exchanged for:
    the return points at its replacement, so the replacement waits for the return's own order
    (orders.events.ARCHIVE_HELD_BACK)."""
    return (
        Q(returns__status__in=ReturnRequest.OPEN)
        | Q(tickets__status__in=Ticket.OPEN)
        | Q(pk__in=ReturnRequest.objects.filter(replacement_order__isnull=False).values("replacement_order_id"))
    )


def rows_to_archive(order_ids: list[int]) -> dict[str, QuerySet]:
    """Returns, tickets and feedback of orders being archived, with their lines, events and
    messages, each row annotated with the order it belongs to (orders.events.ORDERS_ARCHIVING)."""
    of_return = {"archived_order_id": F("return_request__order_id")}
    ticket_order = Coalesce("order_id", "shipment__order_id", "return_request__order_id")
    of_ticket = {
        "archived_order_id": Coalesce(
            "ticket__order_id", "ticket__shipment__order_id", "ticket__return_request__order_id"
        )
    }
    about = Q(order_id__in=order_ids) | Q(shipment__order_id__in=order_ids) | Q(return_request__order_id__in=order_ids)
    tickets = Ticket.objects.filter(about).values("pk")
    refunds_of_returns = ReturnRequest.refunds.through
    return {
        "aftersales.returnrequest": ReturnRequest.objects.filter(order_id__in=order_ids).annotate(
            archived_order_id=F("order_id")
        ),
        "aftersales.returnline": ReturnLine.objects.filter(return_request__order_id__in=order_ids).annotate(
            **of_return
        ),
        "aftersales.returnevent": ReturnEvent.objects.filter(return_request__order_id__in=order_ids).annotate(
            **of_return
        ),
        refunds_of_returns._meta.label_lower: refunds_of_returns.objects.filter(
            returnrequest__order_id__in=order_ids
        ).annotate(archived_order_id=F("returnrequest__order_id")),
        "aftersales.ticket": Ticket.objects.filter(about).annotate(archived_order_id=ticket_order),
        "aftersales.ticketmessage": TicketMessage.objects.filter(ticket__in=tickets).annotate(**of_ticket),
        "aftersales.ticketevent": TicketEvent.objects.filter(ticket__in=tickets).annotate(**of_ticket),
        "aftersales.feedback": Feedback.objects.filter(order_id__in=order_ids).annotate(
            archived_order_id=F("order_id")
        ),
    }
