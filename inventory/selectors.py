from django.db.models import F, Sum

from .models import Product, StockLevel


def products_by_sku(skus):
    return {p.sku: p for p in Product.objects.filter(sku__in=set(skus))}


def low_stock():
    """Stock levels whose available quantity is at or below their reorder point."""
    return (
        StockLevel.objects.select_related("product", "warehouse")
        .annotate(available_qty=F("on_hand") - F("reserved"))
        .filter(available_qty__lte=F("reorder_point"), product__active=True)
    )


def ledger_mismatches():
    """Stock levels whose ledger does not sum to their on-hand and reserved quantities."""
    return (
        StockLevel.objects.annotate(
            ledger_on_hand=Sum("movements__on_hand_change", default=0),
            ledger_reserved=Sum("movements__reserved_change", default=0),
        )
        .exclude(ledger_on_hand=F("on_hand"), ledger_reserved=F("reserved"))
    )
