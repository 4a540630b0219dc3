from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from math import ceil

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from ..models import BundleComponent, Product, StockLevel


@dataclass(frozen=True)
class KeepBack:
    """Units of a product a caller keeps back from a request (another channel's buffer, say): a
    number of units, or a percentage of what is available, rounded up so that at least that share
    stays back."""

    units: int = 0
    percent: Decimal = Decimal(0)

    def of(self, available: int) -> int:
        if available <= 0:
            return 0
        return max(self.units, ceil(available * self.percent / 100))

    def leaves(self, available: int) -> int:
        """What a request may take of `available` units: never below zero."""
        return max(available - self.of(available), 0)


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.filter(sku__in=set(skus))}


def available_stock_of(product_ref: OuterRef) -> Subquery:
    """The available units (on hand minus reserved) of the product `product_ref` points at (an
    OuterRef), over the warehouses that promise stock (active, reservations not paused); None for
    a product with no stock level, so wrap it in Coalesce."""
    return Subquery(
        StockLevel.objects.filter(
            product=product_ref, warehouse__active=True, warehouse__reservations_paused_because=""
        )
        .values("product")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )


def bundle_availability(bundle_ids: Iterable[int], *, share: Callable[[int, int], int] | None = None) -> dict[int, int]:
    """How many of each bundle could be sold now: the least, over its components, of the
    component's available units divided by how many one bundle holds (a bundle holds no stock of
    its own). `share(component id, available units)`, when given, is what may be sold of a
    component's available units (a channel's share, say). Bundles without components are left out.
    One query."""
    parts = BundleComponent.objects.filter(bundle_id__in=set(bundle_ids)).annotate(
        available=Coalesce(available_stock_of(OuterRef("component_id")), 0)
    )
    result: dict[int, int] = {}
    for part in parts:
        available = max(part.available, 0)
        can = (share(part.component_id, available) if share else available) // part.quantity
        result[part.bundle_id] = min(result.get(part.bundle_id, can), can)
    return result


def products_with_available_stock() -> QuerySet[Product]:
    """Products on sale with `available`: on hand minus reserved, summed over active warehouses.
    A subquery per product, so a page of products costs the same however large the catalogue."""
    available = (
        StockLevel.objects.filter(product=OuterRef("pk"), warehouse__active=True)
        .values("product")
        .annotate(total=Sum(F("on_hand") - F("reserved")))
        .values("total")
    )
    return Product.objects.filter(active=True).annotate(
        available=Coalesce(bundle_available_subquery(), Subquery(available), 0)
    )


def bundle_available_subquery() -> Subquery:
    """For a bundle (the outer product), the least over its components of their available units
    divided by how many one bundle holds; None for a product that is no bundle."""
    parts = (
        BundleComponent.objects.filter(bundle=OuterRef("pk"))
        .annotate(
            can=Coalesce(
                Subquery(
                    StockLevel.objects.filter(product=OuterRef("component_id"), warehouse__active=True)
                    .values("product")
                    .annotate(total=Sum(F("on_hand") - F("reserved")))
                    .values("total")
                ),
                0,
            )
            / F("quantity")
        )
        .order_by("can")
        .values("can")[:1]
    )
    return Subquery(parts)


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
