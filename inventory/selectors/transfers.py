"""Reads of transfers between warehouses: what is on its way where (docs/architecture.md,
"Transfers between warehouses")."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery, Sum

from ..models import Transfer, TransferLine


def _in_transit_lines() -> QuerySet[TransferLine]:
    return TransferLine.objects.filter(transfer__status=Transfer.Status.IN_TRANSIT)


def in_transit_quantities(product_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Units on their way, per (product id, destination warehouse id): sent and not yet received.
    They are on hand in no warehouse meanwhile. One query."""
    lines = _in_transit_lines()
    if product_ids is not None:
        lines = lines.filter(product_id__in=set(product_ids))
    return {
        (row["product_id"], row["transfer__destination_id"]): row["units"]
        for row in lines.values("product_id", "transfer__destination_id").annotate(units=Sum("quantity"))
    }


def in_transit_to(product_ref: OuterRef, warehouse_ref: OuterRef) -> Subquery:
    """The units of a product on their way to a warehouse, for a stock level's row (OuterRefs to
    its product and warehouse); None when nothing is, so wrap it in Coalesce."""
    return Subquery(
        _in_transit_lines()
        .filter(product=product_ref, transfer__destination=warehouse_ref)
        .values("product")
        .annotate(units=Sum("quantity"))
        .values("units")
    )


def transfers_with_units() -> QuerySet[Transfer]:
    """Transfers for the list: their warehouses, and the units and products on each."""
    return Transfer.objects.select_related("source", "destination", "created_by").annotate(units=Sum("lines__quantity"))
