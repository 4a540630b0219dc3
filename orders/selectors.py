"""Read queries for the console. Each one is built to use an index and to cost the same number of
queries however many orders it shows."""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q

from inventory.models import Warehouse

from .models import Allocation, Order, OrderLine
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
            "shipments__warehouse",
        )
        .get(pk=order_id)
    )


def order_for_packing_slip(order_id):
    return Order.objects.select_related("channel").prefetch_related("lines").get(pk=order_id)


def timeline(order):
    """The order's events and staff notes, oldest first, from an order fetched by order_for_page."""
    entries = [("event", event.created_at, event) for event in order.events.all()]
    entries += [("note", note.created_at, note) for note in order.notes.all()]
    return [{"kind": kind, "time": time, "item": item} for kind, time, item in sorted(entries, key=lambda e: e[1])]


@dataclass
class PickItem:
    sku: str
    name: str
    bin_location: str
    quantity: int = 0
    orders: dict = field(default_factory=dict)

    @property
    def order_quantities(self):
        return sorted(self.orders.items())


@dataclass
class PickWarehouse:
    code: str
    name: str
    priority: int
    items: list = field(default_factory=list)
    order_numbers: set = field(default_factory=set)

    @property
    def total_quantity(self):
        return sum(item.quantity for item in self.items)

    @property
    def sorted_order_numbers(self):
        return sorted(self.order_numbers)


@dataclass
class PickList:
    warehouses: list
    order_numbers: list
    orders_without_stock: list


def _bin_sort_key(bin_location):
    """Bins in walking order: A-2 before A-10, and goods without a bin at the end."""
    parts = re.split(r"(\d+)", bin_location.upper())
    return (not bin_location, [int(part) if part.isdigit() else part for part in parts])


def pick_list(order_ids):
    """What to take off the shelves for the given orders: their reserved stock, per warehouse,
    summed per SKU and sorted by bin, in two queries however many orders there are."""
    rows = (
        Allocation.objects.filter(line__order_id__in=order_ids, state=Allocation.State.RESERVED)
        .values_list(
            "stock_level__warehouse_id", "stock_level__warehouse__code", "stock_level__warehouse__name",
            "stock_level__warehouse__priority", "stock_level__product__sku", "stock_level__product__name",
            "stock_level__bin_location", "line__order__number", "quantity",
        )
        .order_by("pk")
    )
    warehouses = {}
    items = {}
    for warehouse_id, code, name, priority, sku, product_name, bin_location, number, quantity in rows:
        warehouse = warehouses.setdefault(warehouse_id, PickWarehouse(code, name, priority))
        warehouse.order_numbers.add(number)
        item = items.get((warehouse_id, sku))
        if item is None:
            item = items[(warehouse_id, sku)] = PickItem(sku, product_name, bin_location)
            warehouse.items.append(item)
        item.quantity += quantity
        item.orders[number] = item.orders.get(number, 0) + quantity
    for warehouse in warehouses.values():
        warehouse.items.sort(key=lambda item: (_bin_sort_key(item.bin_location), item.sku))
    numbers = sorted(Order.objects.filter(pk__in=order_ids).values_list("number", flat=True))
    picked = {number for warehouse in warehouses.values() for number in warehouse.order_numbers}
    return PickList(
        warehouses=sorted(warehouses.values(), key=lambda w: (w.priority, w.code)),
        order_numbers=numbers,
        orders_without_stock=[number for number in numbers if number not in picked],
    )


def count_up_to(queryset, cap):
    """How many rows, counting no further than `cap` + 1, so a queue of a million costs no more
    than one of a thousand; a result above `cap` means "more than cap"."""
    return queryset.order_by()[: cap + 1].count()


def orders_in_status(*statuses):
    return Order.objects.filter(status__in=statuses)


def orders_owed_a_refund():
    return Order.objects.filter(payment_status=Order.PaymentStatus.REFUND_DUE)
