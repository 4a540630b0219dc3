"""Read queries for the console. Each one is built to use an index and to cost the same number of
queries however many orders it shows."""

import re
import unicodedata

from django.db.models import Exists, OuterRef, Prefetch, Q

from inventory.models import Warehouse

from .models import Allocation, Notification, Order, OrderLine
from .services.phones import normalize_phone

ORDER_NUMBER = re.compile(r"^OC\d{6}-\d+$", re.IGNORECASE)
PHONE_LIKE = re.compile(r"^\+?[\d\s()-]{5,}$")


def order_list():
    return Order.objects.select_related("channel")


def order_by_id(order_id):
    return Order.objects.get(pk=order_id)


def held_orders():
    return Order.objects.filter(status=Order.Status.ON_HOLD).select_related("channel", "customer")


def search_orders(queryset, term, *, by_phone=True):
    """Orders whose number, phone, recipient, channel order id or tracking number is exactly `term`.

    Only exact matches, each on an indexed column, OR-ed together, so the database combines index
    lookups instead of reading every order. A tracking number is looked up first (it matches a
    handful of shipments at most) so the OR holds nothing but index conditions. `by_phone` is off
    for roles that see phones masked: finding an order by a full number would reveal it."""
    term = (term or "").strip()
    if not term:
        return queryset
    if ORDER_NUMBER.match(term):
        return queryset.filter(number=term.upper())
    matches = Q(number=term.upper()) | Q(recipient=term) | Q(channel_order_id=term)
    if by_phone and PHONE_LIKE.match(unicodedata.normalize("NFKC", term)):
        matches |= Q(phone=normalize_phone(term)[0])
    tracked = list(
        Order.objects.filter(shipments__tracking_number=term).values_list("pk", flat=True).distinct()[:100]
    )
    if tracked:
        matches |= Q(pk__in=tracked)
    return queryset.filter(matches)


def warehouses():
    return Warehouse.objects.order_by("priority", "code")


def with_allocation_in(queryset, warehouse_id):
    return queryset.filter(
        Exists(Allocation.objects.filter(line__order=OuterRef("pk"), stock_level__warehouse_id=warehouse_id))
    )


def order_for_page(order_id):
    """One order with everything its console page shows, in a fixed number of queries."""
    return (
        Order.objects.select_related("channel", "customer", "created_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.prefetch_related(
                    Prefetch(
                        "allocations",
                        queryset=Allocation.objects.select_related("stock_level__warehouse"),
                    )
                ),
            ),
            "events__actor",
            "notes__author",
            "payments__recorded_by",
            "shipments__carrier",
            "shipments__service__carrier",
            "shipments__warehouse",
        )
        .get(pk=order_id)
    )


def timeline(order):
    """The order's events and staff notes, oldest first, from an order fetched by order_for_page."""
    entries = [("event", event.created_at, event) for event in order.events.all()]
    entries += [("note", note.created_at, note) for note in order.notes.all()]
    return [{"kind": kind, "time": time, "item": item} for kind, time, item in sorted(entries, key=lambda e: e[1])]


def count_up_to(queryset, cap):
    """How many rows, counting no further than `cap` + 1, so a queue of a million costs no more
    than one of a thousand; a result above `cap` means "more than cap"."""
    return queryset.order_by()[: cap + 1].count()


def orders_in_status(*statuses):
    return Order.objects.filter(status__in=statuses)


def orders_owed_a_refund():
    return Order.objects.filter(payment_status=Order.PaymentStatus.REFUND_DUE)


def channel_orders(channel):
    """The orders of one channel, all a channel's API client may see (index order_by_channel)."""
    return Order.objects.filter(channel=channel)


def notification_log():
    return Notification.objects.select_related("order")


def notifications_for_order(order_id):
    """An order's messages, newest first (index notification_by_order)."""
    return Notification.objects.filter(order_id=order_id).order_by("-created_at", "-id")


def search_notifications(queryset, term, *, by_phone=True):
    """Messages of the order numbered `term`, or to the email address or phone number `term`.
    `by_phone` is off for roles that see phones masked: finding by a full number would reveal it."""
    term = (term or "").strip()
    if not term:
        return queryset
    if ORDER_NUMBER.match(term):
        return queryset.filter(order__number=term.upper())
    if "@" in term:
        return queryset.filter(recipient__iexact=term)
    if by_phone and PHONE_LIKE.match(unicodedata.normalize("NFKC", term)):
        return queryset.filter(recipient=normalize_phone(term)[0])
    return queryset.none()
