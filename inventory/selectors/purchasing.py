"""Reads of suppliers and purchase orders (docs/architecture.md, "Suppliers and purchase orders")."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import PurchaseOrder, PurchaseOrderLine, SupplierProduct

AWAITING_GOODS = PurchaseOrder.AWAITING_GOODS
OPEN = PurchaseOrder.OPEN


def _outstanding_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines of open purchase orders with units still to come."""
    return PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN,
        closed_short=False,
        quantity__gt=F("quantity_received") + F("quantity_damaged"),
    )


def on_order_quantities(product_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Units ordered and not yet arrived, per (product id, warehouse id), over the open purchase
    orders (drafts included: a buyer's draft is stock already being bought). A line closed short
    brings nothing more."""
    lines = _outstanding_lines()
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    rows = (
        lines.values("product_id", "purchase_order__warehouse_id")
        .annotate(units=Sum(Greatest(F("quantity") - F("quantity_received") - F("quantity_damaged"), 0)))
        .order_by()
    )
    return {(row["product_id"], row["purchase_order__warehouse_id"]): row["units"] for row in rows}


def overdue_purchase_orders(today: datetime.date | None = None) -> QuerySet[PurchaseOrder]:
    """Sent purchase orders not fully received whose expected date (the order's, or any of its
    open lines') has passed."""
    today = today or timezone.localdate()
    late_line = _outstanding_lines().filter(purchase_order=OuterRef("pk"), expected_on__lt=today)
    return (
        PurchaseOrder.objects.filter(status__in=AWAITING_GOODS)
        .filter(Q(expected_on__lt=today) | Exists(late_line))
        .select_related("supplier", "warehouse")
        .order_by("expected_on", "id")
    )


def purchase_order_total(purchase_order: PurchaseOrder) -> Decimal:
    """The order's value in its own currency."""
    total = purchase_order.lines.aggregate(total=Sum(F("quantity") * F("unit_cost")))["total"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def supplier_product(supplier_id: int, product_id: int) -> SupplierProduct | None:
    return SupplierProduct.objects.filter(supplier_id=supplier_id, product_id=product_id).first()
