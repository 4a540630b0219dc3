"""What after-sales holds about one customer, and what of theirs is still open
(docs/architecture.md, "Personal data")."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Customer

from ..models import Feedback, ReturnRequest, Ticket, TicketMessage


def _tickets(customer, order_ids):
    return Ticket.objects.filter(Q(order_id__in=order_ids) | Q(customer=customer))


def erasure_blockers(*, customer: Customer, order_ids: list[int]) -> list[str]:
    """Open returns and open complaints keep a customer's data (orders.events.ERASURE_BLOCKERS)."""
    returns = ReturnRequest.objects.filter(order_id__in=order_ids, status__in=ReturnRequest.OPEN).order_by("pk")
    tickets = _tickets(customer, order_ids).filter(status__in=Ticket.OPEN).order_by("pk")
    return [
        _("Return %(number)s is %(status)s.") % {"number": case.number, "status": case.get_status_display()}
        for case in returns
    ] + [
        _("Complaint ticket %(number)s is %(status)s.")
        % {"number": ticket.number, "status": ticket.get_status_display()}
        for ticket in tickets
    ]


def customer_data_sheets(*, customer: Customer, order_ids: list[int]) -> list[tuple[str, list[str], list[list]]]:
    """Returns, complaint tickets with their messages, and feedback of the customer
    (orders.events.CUSTOMER_DATA_SHEETS)."""

    def label(model, name):
        return str(model._meta.get_field(name).verbose_name)

    def when(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else ""

    returns = ReturnRequest.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
    tickets = _tickets(customer, order_ids).order_by("pk")
    messages = TicketMessage.objects.filter(ticket__in=tickets).select_related("ticket").order_by("pk")
    feedback = Feedback.objects.filter(order_id__in=order_ids).select_related("order").order_by("pk")
    return [
        (
            str(ReturnRequest._meta.verbose_name_plural),
            [label(ReturnRequest, name) for name in ("number", "order", "status", "wanted_outcome", "customer_note")]
            + [label(ReturnRequest, "created_at")],
            [
                [
                    case.number,
                    case.order.number,
                    case.get_status_display(),
                    case.get_wanted_outcome_display(),
                    case.customer_note,
                    when(case.created_at),
                ]
                for case in returns
            ],
        ),
        (
            str(Ticket._meta.verbose_name_plural),
            [label(Ticket, name) for name in ("number", "subject", "description", "status", "created_at")],
            [[t.number, t.subject, t.description, t.get_status_display(), when(t.created_at)] for t in tickets],
        ),
        (
            str(TicketMessage._meta.verbose_name_plural),
            [label(TicketMessage, name) for name in ("ticket", "kind", "text", "sent_to", "created_at")],
            [
                [m.ticket.number, m.get_kind_display(), m.text, m.sent_to, when(m.created_at)]
                for m in messages
                if m.kind == TicketMessage.Kind.REPLY
            ],
        ),
        (
            str(Feedback._meta.verbose_name_plural),
            [label(Feedback, name) for name in ("order", "rating", "comment", "created_at")],
            [[f.order.number, f.rating, f.comment, when(f.created_at)] for f in feedback],
        ),
    ]
