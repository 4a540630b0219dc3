"""Reads for replenishment: who supplies each product on what terms, what is already coming, and
the suggestions and warnings of the last planning run for the console."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, QuerySet, Sum

from inventory import selectors as inventory
from inventory.models import Product, SupplierProduct, Transfer, TransferLine, Warehouse

from ..models import ReplenishmentSuggestion, RunOutWarning


@dataclass(frozen=True)
class Offer:
    """The terms a product is bought on: its preferred supplier's (or, with none preferred, the
    cheapest active one's)."""

    supplier_id: int
    lead_time_days: int
    pack_size: int
    minimum_quantity: int
    unit_cost: Decimal
    currency: str


def supplier_offers() -> dict[int, Offer]:
    """Each product's offer by product id, from active suppliers; products nobody supplies are absent."""
    offers = {}
    rows = (
        SupplierProduct.objects.filter(supplier__active=True)
        .order_by("product_id", "-preferred", "unit_cost", "id")
        .values_list(
            "product_id",
            "supplier_id",
            "supplier__lead_time_days",
            "pack_size",
            "minimum_quantity",
            "unit_cost",
            "supplier__currency",
        )
    )
    for product_id, supplier_id, lead_time, pack, minimum, cost, currency in rows:
        if product_id not in offers:
            offers[product_id] = Offer(supplier_id, lead_time, pack, minimum, cost, currency)
    return offers


def active_warehouse_ids() -> set[int]:
    return set(Warehouse.objects.filter(active=True).values_list("pk", flat=True))


def inactive_product_ids() -> set[int]:
    """Products no longer sold: nothing is bought or moved for them."""
    return set(Product.objects.filter(active=False).values_list("pk", flat=True))


def incoming_quantities() -> dict[tuple[int, int], int]:
    """Units on their way to each (product id, warehouse id): on open purchase orders (drafts
    included), on transfers in transit, and on draft transfers (a buyer's draft is stock already
    being moved, as a draft purchase order is stock already being bought)."""
    incoming: dict[tuple[int, int], int] = {}
    drafted = (
        TransferLine.objects.filter(transfer__status=Transfer.Status.DRAFT)
        .values_list("product_id", "transfer__destination_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    )
    for quantities in (
        inventory.on_order_quantities(),
        inventory.in_transit_quantities(),
        {(product_id, warehouse_id): units for product_id, warehouse_id, units in drafted},
    ):
        for key, units in quantities.items():
            incoming[key] = incoming.get(key, 0) + units
    return incoming


def suggestions(*, warehouse_id: int | None = None, running_out: bool = False) -> QuerySet[ReplenishmentSuggestion]:
    """The suggestions for the console, by supplier (those without one last), warehouse and SKU, each
    with `running_out` (it has a run-out warning); `running_out=True` keeps only those."""
    warned = RunOutWarning.objects.filter(product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id"))
    rows = ReplenishmentSuggestion.objects.select_related("product", "warehouse", "supplier", "transfer_from").annotate(
        running_out=Exists(warned)
    )
    if warehouse_id:
        rows = rows.filter(warehouse_id=warehouse_id)
    if running_out:
        rows = rows.filter(running_out=True)
    return rows.order_by(
        F("supplier__code").asc(nulls_last=True), "warehouse__priority", "warehouse__code", "product__sku"
    )


def run_out_warnings() -> QuerySet[RunOutWarning]:
    return RunOutWarning.objects.select_related("product", "warehouse")


def suggestions_by_id(ids: Iterable[int]) -> list[ReplenishmentSuggestion]:
    return list(
        ReplenishmentSuggestion.objects.filter(pk__in=list(ids))
        .select_related("product", "warehouse", "supplier", "transfer_from")
        .order_by("pk")
    )
