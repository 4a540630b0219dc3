"""After-sales' part in erasing customers' personal data (docs/architecture.md, "Personal data"):
what customers wrote and where replies went, for the customers and orders that orders announces
as erased (`orders.events.PERSONAL_DATA_ERASED`). Numbers, statuses, outcomes, amounts, ratings and
the root causes staff found stay for the figures."""

from __future__ import annotations

from django.db.models import Q

from ..models import Feedback, ReturnRequest, Ticket, TicketMessage


def erase_personal_data(*, customer_ids: list[int], order_ids: list[int]) -> None:
    """Runs in the orders service's transaction, after the orders and customers are locked."""
    ReturnRequest.objects.filter(order_id__in=order_ids).update(customer_note="")
    tickets = Ticket.objects.filter(Q(order_id__in=order_ids) | Q(customer_id__in=customer_ids))
    tickets.update(description="")
    TicketMessage.objects.filter(ticket__in=tickets).update(text="", sent_to="")
    Feedback.objects.filter(order_id__in=order_ids).update(comment="")
