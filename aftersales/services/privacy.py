"""After-sales' part in erasing customers' personal data (docs/architecture.md, "Personal data"):
what customers wrote and where replies went, for the customers and orders that orders announces
as erased (`orders.events.PERSONAL_DATA_ERASED`), and the same fields of the rows kept in archived
orders (`orders.events.ERASING_ARCHIVED_ORDER`). Numbers, statuses, outcomes, amounts, ratings and
the root causes staff found stay for the figures."""

from __future__ import annotations

from django.db.models import Q

from orders.services.privacy import blank_archived_rows

from ..models import Feedback, ReturnRequest, Ticket, TicketMessage

ERASED_FIELDS = {
    ReturnRequest: {"customer_note": ""},
    Ticket: {"description": ""},
    TicketMessage: {"text": "", "sent_to": ""},
    Feedback: {"comment": ""},
}


def erase_personal_data(*, customer_ids: list[int], order_ids: list[int]) -> None:
    """Runs in the orders service's transaction, after the orders and customers are locked."""
    ReturnRequest.objects.filter(order_id__in=order_ids).update(**ERASED_FIELDS[ReturnRequest])
    tickets = Ticket.objects.filter(Q(order_id__in=order_ids) | Q(customer_id__in=customer_ids))
    tickets.update(**ERASED_FIELDS[Ticket])
    TicketMessage.objects.filter(ticket__in=tickets).update(**ERASED_FIELDS[TicketMessage])
    Feedback.objects.filter(order_id__in=order_ids).update(**ERASED_FIELDS[Feedback])


def erase_archived_personal_data(*, rows: dict[str, list[dict]], answer: dict) -> None:
    """The same fields in an archived order's kept returns, tickets, messages and feedback. The
    answer's returns show none of them."""
    for model, blanks in ERASED_FIELDS.items():
        blank_archived_rows(rows, model, blanks)
