"""What logistics adds to the console's order list (docs/architecture.md, "Finding orders"): the
orders whose parcel carries a tracking number someone typed into the search, and the carrier and
tracking columns of a page of orders. Orders cannot read parcels itself (apps depend one way), so
it asks through `orders.order_search` and `orders.order_list_shipping`."""

from collections.abc import Iterable

from .models import Shipment

MOST_ORDERS = 100


def orders_with_tracking_number(term: str) -> list[int]:
    """Ids of the orders with a parcel whose tracking number is `term`, as typed or with its spaces
    and dashes taken out and in capitals (carriers print them grouped: SF 1234 5678 90). One lookup
    on the tracking number's index."""
    typed = term.strip()
    squeezed = "".join(ch for ch in typed if ch not in " -").upper()
    candidates = {number for number in (typed, squeezed) if number}
    if not candidates:
        return []
    return list(
        Shipment.objects.filter(tracking_number__in=candidates)
        .order_by()
        .values_list("order_id", flat=True)
        .distinct()[:MOST_ORDERS]
    )


def shipping_columns(order_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """{order id: {"carrier": ..., "tracking": ...}} for one page of orders, in one query: each
    order's parcels that are not cancelled, oldest first, their carriers and tracking numbers joined
    with commas (an order shipped from two warehouses has two)."""
    ids = list(order_ids)
    if not ids:
        return {}
    rows = (
        Shipment.objects.filter(order_id__in=ids)
        .exclude(status=Shipment.Status.CANCELLED)
        .order_by("order_id", "id")
        .values_list("order_id", "carrier__name", "service__name", "tracking_number")
    )
    columns: dict[int, dict[str, list[str]]] = {}
    for order_id, carrier, service, tracking in rows:
        parts = columns.setdefault(order_id, {"carrier": [], "tracking": []})
        shown = f"{carrier} {service}" if carrier and service else carrier or ""
        if shown and shown not in parts["carrier"]:
            parts["carrier"].append(shown)
        if tracking:
            parts["tracking"].append(tracking)
    return {
        order_id: {"carrier": ", ".join(parts["carrier"]), "tracking": ", ".join(parts["tracking"])}
        for order_id, parts in columns.items()
    }
