"""Read queries about complaint tickets and customer feedback: the console's lists and pages, the
overdue queue, and satisfaction (CSAT) for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from logistics.models import Shipment
from orders.models import Channel, Order
from orders.selectors import day_bounds

from ..models import Feedback, ReturnRequest, Ticket

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

SATISFIED_AT_OR_ABOVE = 4


def orders_with_open_complaints() -> Q:
    """Orders a complaint is still open about: they are not completed while it is
    (orders.events.COMPLETION_BLOCKERS)."""
    return Q(tickets__status__in=Ticket.OPEN)


def open_tickets() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=Ticket.OPEN)


def only_overdue(tickets: QuerySet[Ticket], now: datetime | None = None) -> QuerySet[Ticket]:
    """Of `tickets`, the open ones nobody has answered yet whose deadline has passed."""
    return tickets.filter(status__in=Ticket.OPEN, first_response_at__isnull=True, respond_by__lt=now or timezone.now())


def overdue_tickets(now: datetime | None = None) -> QuerySet[Ticket]:
    """The overdue queue, the most overdue first."""
    return only_overdue(Ticket.objects.order_by("respond_by", "id"), now)


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    """`only_overdue` for one ticket already read."""
    return (
        ticket.status in Ticket.OPEN
        and ticket.first_response_at is None
        and ticket.respond_by < (now or timezone.now())
    )


def ticket_list() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("order", "assigned_to")


def search_tickets(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """By exact ticket or order number, or words of the subject."""
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(Q(number=term.upper()) | Q(order__number=term.upper()) | Q(subject__icontains=term))


def ticket_for_page(ticket_id: int) -> Ticket:
    return (
        Ticket.objects.select_related(
            "order__customer", "customer", "shipment__carrier", "return_request", "assigned_to", "opened_by"
        )
        .prefetch_related("messages__author", "events__actor")
        .get(pk=ticket_id)
    )


def tickets_for_order(order_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(order_id=order_id).select_related("assigned_to").order_by("-created_at", "-id")


def feedback_for_order(order_id: int) -> Feedback | None:
    return Feedback.objects.select_related("ticket").filter(order_id=order_id).first()


def feedback_list() -> QuerySet[Feedback]:
    return Feedback.objects.select_related("order", "ticket")


def ticket_handlers() -> QuerySet[AbstractUser]:
    """Active staff who may work on tickets: by their own permission, a group's, or as superusers."""
    permission = Permission.objects.filter(content_type__app_label="aftersales", codename="handle_ticket")
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission))
        .distinct()
        .order_by("username")
    )


def order_for_ticket(order_id: int) -> Order:
    return Order.objects.select_related("customer").get(pk=order_id)


def order_id_for_number(number: str) -> int | None:
    return Order.objects.filter(number=number.strip().upper()).values_list("pk", flat=True).first()


def shipment_id_for_tracking_number(tracking_number: str) -> int | None:
    return (
        Shipment.objects.filter(tracking_number=tracking_number.strip())
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def return_id_for_number(number: str) -> int | None:
    return ReturnRequest.objects.filter(number=number.strip().upper()).values_list("pk", flat=True).first()


def shipments_of_order(order_id: int) -> QuerySet[Shipment]:
    return Shipment.objects.filter(order_id=order_id).select_related("carrier").order_by("pk")


@dataclass(frozen=True)
class Satisfaction:
    """Ratings given in a period: how many, how many were 4 or 5, their share and the average."""

    count: int
    satisfied: int
    average: Decimal | None

    @property
    def share(self):
        """CSAT: the share of ratings of 4 or 5, between 0 and 1 (None without ratings)."""
        return Decimal(self.satisfied) / self.count if self.count else None


def csat(start: date, end: date, channel: Channel | int | None = None) -> Satisfaction:
    """Satisfaction with the orders rated from day `start` to day `end` (both included, in the
    shop's time zone), of one channel (a Channel or its id) or of all."""
    since, until = day_bounds(start, end)
    ratings = Feedback.objects.filter(created_at__gte=since, created_at__lt=until)
    if channel is not None:
        ratings = ratings.filter(channel_id=getattr(channel, "pk", channel))
    figures = ratings.aggregate(
        count=Count("pk"),
        satisfied=Count("pk", filter=Q(rating__gte=SATISFIED_AT_OR_ABOVE)),
        average=Avg("rating"),
    )
    average = figures["average"]
    return Satisfaction(
        count=figures["count"],
        satisfied=figures["satisfied"],
        average=Decimal(str(average)).quantize(Decimal("0.01")) if average is not None else None,
    )
