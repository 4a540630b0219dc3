from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from .models import Product, StockLevel


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.filter(sku__in=set(skus))}


def products_with_available_stock() -> QuerySet[Product]:
    """Products on sale with `available`: on hand minus reserved, summed over active warehouses.
    A subquery per product, so a page of products costs the same however large the catalogue."""
    available = (
        StockLevel.objects.filter(product=OuterRef("pk"), warehouse__active=True)
        .values("product")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )
    return Product.objects.filter(active=True).annotate(available=Coalesce(Subquery(available), 0))


def low_stock() -> QuerySet[StockLevel]:
    """Stock levels whose available quantity is at or below their reorder point."""
    return (
        StockLevel.objects.select_related("product", "warehouse")
        .annotate(available_qty=F("on_hand") - F("reserved"))
        .filter(available_qty__lte=F("reorder_point"), product__active=True)
    )


def ledger_mismatches() -> QuerySet[StockLevel]:
    """Stock levels whose ledger does not sum to their on-hand, reserved and quarantined quantities."""
    return StockLevel.objects.annotate(
        ledger_on_hand=Sum("movements__on_hand_change", default=0),
        ledger_reserved=Sum("movements__reserved_change", default=0),
        ledger_quarantined=Sum("movements__quarantined_change", default=0),
    ).exclude(ledger_on_hand=F("on_hand"), ledger_reserved=F("reserved"), ledger_quarantined=F("quarantined"))
