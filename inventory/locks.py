"""Every lock on stock. Stock levels come after orders and the rows that belong to one order
(after-sales cases, allocations) and before payments, refunds and shipments in the one order every
transaction takes its locks in (docs/architecture.md, "Lock order"); among themselves they are
locked by primary key, in one statement where the caller knows them all up front."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Product, PurchaseOrder, PurchaseOrderLine, StockLevel, Transfer, Warehouse


def lock_in_key_order(levels: QuerySet[StockLevel]) -> dict[int, StockLevel]:
    """Lock the stock levels of a queryset in primary-key order, the one order every service uses."""
    return {level.pk: level for level in levels.select_for_update(of=("self",)).order_by("pk")}


def lock_stock_levels(ids: Iterable[int]) -> dict[int, StockLevel]:
    """Lock these stock levels (by id), in primary-key order."""
    return lock_in_key_order(StockLevel.objects.filter(pk__in=ids))


def lock_stock_of_products(product_ids: Iterable[int]) -> dict[int, StockLevel]:
    """Lock every stock level of these products at once, in primary-key order. A caller that will
    reserve for many orders in turn takes all its locks up front, so it never waits for a row
    with a lower key while holding a higher one."""
    return lock_in_key_order(StockLevel.objects.filter(product_id__in=product_ids))


def lock_products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    """Lock the products with these SKUs, in primary-key order; a catalogue upload changes them
    locked alone, with nothing after them."""
    return {product.sku: product for product in Product.objects.select_for_update().filter(sku__in=skus).order_by("pk")}


def lock_warehouse(warehouse_id: int) -> Warehouse:
    """Lock a warehouse row to pause or resume its work; an incident locks it before any order
    (docs/architecture.md, "Lock order")."""
    return Warehouse.objects.select_for_update().get(pk=warehouse_id)


def lock_purchase_order(purchase_order_id: int) -> PurchaseOrder:
    """Lock a purchase order before changing it or anything received against it. A purchase order
    is locked first of all and never after another row (docs/architecture.md, "Lock order")."""
    return PurchaseOrder.objects.select_for_update(of=("self",)).select_related("supplier").get(pk=purchase_order_id)


def lock_purchase_order_lines(purchase_order_id: int) -> dict[int, PurchaseOrderLine]:
    """Lock a locked purchase order's lines, in primary-key order: after their order, before stock."""
    lines = (
        PurchaseOrderLine.objects.select_for_update(of=("self",))
        .filter(purchase_order_id=purchase_order_id)
        .select_related("product")
        .order_by("pk")
    )
    return {line.pk: line for line in lines}


def lock_products_for_cost(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock products whose average cost a receipt changes, in primary-key order, after the stock
    levels of the receipt and with nothing after them."""
    products = Product.objects.select_for_update().filter(pk__in=set(product_ids)).order_by("pk")
    return {product.pk: product for product in products}


def lock_transfer(transfer_id: int) -> Transfer:
    """Lock a transfer before anything else its step changes: then the stock levels of its lines,
    in key order (docs/architecture.md, "Lock order"). Raises Transfer.DoesNotExist."""
    return Transfer.objects.select_for_update(of=("self",)).select_related("source", "destination").get(pk=transfer_id)
