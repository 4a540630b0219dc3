"""Read queries about returns: the lists and the return page of the console, what of an order may
still be sent back, the return window, and the open returns the dashboard counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from orders.models import Allocation, Channel, Order, OrderLine, Refund

from ..models import ReturnEvent, ReturnLine, ReturnRequest

Status = ReturnRequest.Status
# Only goods that reached the customer can come back.
RETURNABLE_ORDER_STATUSES = [Order.Status.DELIVERED, Order.Status.COMPLETED]
# Before goods arrive a return holds the quantity asked; once they are received, what came.
PROMISED = [Status.REQUESTED, Status.APPROVED]


def orders_with_open_returns() -> Q:
    """Orders a return is still open for: they are not completed while it is
    (orders.events.COMPLETION_BLOCKERS)."""
    return Q(returns__status__in=ReturnRequest.OPEN)


def returns_in_status(*statuses: str) -> QuerySet[ReturnRequest]:
    """Returns in any of `statuses` (all of them when none is given), newest first."""
    returns = ReturnRequest.objects.select_related("order", "warehouse")
    return returns.filter(status__in=statuses) if statuses else returns


def return_list() -> QuerySet[ReturnRequest]:
    """The console's list of returns, with their lines' reasons in one extra query per page."""
    return ReturnRequest.objects.select_related("order").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.only("return_request_id", "reason").order_by("pk"))
    )


def ids_of_returns_with_reason(reason: str) -> QuerySet[ReturnLine, dict[str, Any]]:
    """Ids of the returns with at least one line sent back for `reason`, for the list's filter."""
    return ReturnLine.objects.filter(reason=reason).values("return_request_id")


def return_for_page(pk: int) -> ReturnRequest:
    """One return with everything its page shows, in a fixed number of queries. Raises
    ReturnRequest.DoesNotExist."""
    return (
        ReturnRequest.objects.select_related(
            "order__channel",
            "order__customer",
            "warehouse",
            "requested_by",
            "replacement_order",
            "repair_shipment__warehouse",
            "repair_shipment__carrier",
        )
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line__product").order_by("pk")),
            Prefetch("events", queryset=ReturnEvent.objects.select_related("actor").order_by("created_at", "pk")),
            Prefetch("refunds", queryset=Refund.objects.select_related("payment").order_by("requested_at", "pk")),
        )
        .get(pk=pk)
    )


def returns_of_order(order: Order | int) -> QuerySet[ReturnRequest]:
    """The returns of an order (or an order id), newest first."""
    return ReturnRequest.objects.filter(order=order).order_by("-created_at", "-pk")


def channel_returns(channel: Channel) -> QuerySet[ReturnRequest]:
    """The returns of one channel's orders, all its API client may see."""
    return ReturnRequest.objects.filter(channel=channel)


def order_for_return(order_id: int) -> Order | None:
    """The order a return is opened from, with the channel and customer its page shows; None when
    there is no such order."""
    return Order.objects.filter(pk=order_id).select_related("channel", "customer").first()


def returned_quantities(order_id: int, *, excluding: int | None = None) -> dict[int, int]:
    """{order line id: units on the order's returns that are not rejected}: what was asked while
    the goods are on their way, what arrived once they are received. `excluding` leaves one
    return out."""
    rows = ReturnLine.objects.filter(order_line__order_id=order_id).exclude(return_request__status=Status.REJECTED)
    if excluding is not None:
        rows = rows.exclude(return_request_id=excluding)
    taken = defaultdict(int)
    for line_id, asked, received, status in rows.values_list(
        "order_line_id", "quantity", "received_quantity", "return_request__status"
    ):
        taken[line_id] += asked if status in PROMISED else received
    return taken


def shipped_quantities(order_id: int) -> dict[int, int]:
    """{order line id: units that left the warehouse for the customer}."""
    return dict(
        Allocation.objects.filter(line__order_id=order_id, state=Allocation.State.SHIPPED)
        .values_list("line_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )


@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    shipped: int
    returned: int

    @property
    def returnable(self):
        return max(self.shipped - self.returned, 0)


def returnable_lines(order: Order) -> list[ReturnableLine]:
    """Each line of the order with the units shipped, those already on returns, and what may
    still be sent back."""
    shipped = shipped_quantities(order.pk)
    returned = returned_quantities(order.pk)
    return [
        ReturnableLine(line=line, shipped=shipped.get(line.pk, 0), returned=returned.get(line.pk, 0))
        for line in order.lines.order_by("pk")
    ]


@dataclass(frozen=True)
class ReturnWindow:
    """The days after delivery in which a customer may ask for a return, as of `today`."""

    delivered_on: date
    days: int
    today: date

    @property
    def last_day(self):
        return self.delivered_on + timedelta(days=self.days)

    @property
    def within(self):
        return self.today <= self.last_day

    @property
    def days_late(self):
        return max((self.today - self.last_day).days, 0)


def return_window(
    delivered_at: datetime | None, *, days: int | None = None, today: date | None = None
) -> ReturnWindow | None:
    """The window of goods delivered at `delivered_at`, counted in the shop's calendar days; None
    when the delivery time is not known (nothing to count from)."""
    if delivered_at is None:
        return None
    return ReturnWindow(
        delivered_on=timezone.localdate(delivered_at),
        days=settings.RETURN_WINDOW_DAYS if days is None else days,
        today=today or timezone.localdate(),
    )


def window_of_return(case: ReturnRequest) -> ReturnWindow | None:
    """The window as it stood when the return was asked for."""
    return return_window(case.delivered_at, days=case.window_days, today=timezone.localdate(case.created_at))
