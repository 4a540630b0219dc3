"""Buying stock (docs/architecture.md, "Suppliers and purchase orders"): drafting, approving,
sending, receiving and closing purchase orders. Each function is one transaction; a purchase order
is locked first (inventory.locks), then its lines, then the stock levels a receipt books, then the
products whose average cost it changes."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Inventory, require
from core.transitions import number_for

from ..models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierProduct,
    Warehouse,
    shop_currency,
)
from .stock import MAX_QUANTITY, REASON_LENGTH

Status = PurchaseOrder.Status
CENT = Decimal("0.01")
REASON_MAX = PurchaseOrderLine._meta.get_field("difference_reason").max_length


def _quantity(value, field: str, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(
            {
                field: _("Enter a whole number, zero or more.")
                if allow_zero
                else _("Enter a whole number greater than zero.")
            }
        )
    if value > MAX_QUANTITY:
        raise ValidationError({field: _("Enter at most %(max)s units at a time.") % {"max": f"{MAX_QUANTITY:,}"}})
    return value


def _reason(value: str, field: str = "reason") -> str:
    reason = (value or "").strip()
    if len(reason) > min(REASON_MAX, REASON_LENGTH):
        raise ValidationError({field: _("Use at most %(max)d characters.") % {"max": min(REASON_MAX, REASON_LENGTH)}})
    return reason


def check_currency(purchase_order: PurchaseOrder) -> None:
    """A purchase order is in its supplier's currency, and one in another currency than the shop's
    carries the rate that turns it into the shop's."""
    if purchase_order.currency != purchase_order.supplier.currency:
        raise ValidationError(
            {
                "currency": _(
                    "Purchase order %(number)s is in %(currency)s but its supplier %(supplier)s invoices in "
                    "%(supplier_currency)s: a purchase order is in its supplier's currency."
                )
                % {
                    "number": purchase_order,
                    "currency": purchase_order.currency,
                    "supplier": purchase_order.supplier.code,
                    "supplier_currency": purchase_order.supplier.currency,
                }
            }
        )
    if purchase_order.currency != shop_currency() and not purchase_order.exchange_rate:
        raise ValidationError(
            {
                "exchange_rate": _(
                    "Purchase order %(number)s is in %(currency)s: give the exchange rate to %(shop)s "
                    "(how many %(shop)s one %(currency)s is worth)."
                )
                % {"number": purchase_order, "currency": purchase_order.currency, "shop": shop_currency()}
            }
        )


def rate_to_shop(purchase_order: PurchaseOrder) -> Decimal:
    """What one unit of the order's currency is worth in the shop's."""
    check_currency(purchase_order)
    return Decimal("1") if purchase_order.currency == shop_currency() else purchase_order.exchange_rate


def _supplier_products(supplier: Supplier, product_ids: Sequence[int]) -> dict[int, SupplierProduct]:
    offers = {sp.product_id: sp for sp in SupplierProduct.objects.filter(supplier=supplier, product_id__in=product_ids)}
    missing = [pid for pid in product_ids if pid not in offers]
    if missing:
        skus = ", ".join(Product.objects.filter(pk__in=missing).order_by("sku").values_list("sku", flat=True))
        raise ValidationError(
            {
                "lines": _("%(supplier)s does not supply %(skus)s.")
                % {"supplier": supplier.code, "skus": skus or missing}
            }
        )
    return offers


@transaction.atomic
def create_purchase_order(
    *,
    supplier_id: int,
    warehouse_id: int,
    lines: list[tuple[int, int]],
    actor: Actor,
    expected_on: datetime.date | None = None,
    exchange_rate: Decimal | None = None,
    notes: str = "",
) -> PurchaseOrder:
    """A draft purchase order to a supplier for goods delivered to a warehouse: `lines` are
    (product id, quantity), each product once; the unit cost is the supplier's for it and the
    currency the supplier's. Without `expected_on` the goods are expected after the supplier's
    lead time."""
    require(actor, Inventory.ADD_PURCHASEORDER, _("Your role may not draft purchase orders."))
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None or not supplier.active:
        raise ValidationError({"supplier": _("Choose an active supplier.")})
    warehouse = Warehouse.objects.filter(pk=warehouse_id, active=True).first()
    if warehouse is None:
        raise ValidationError({"warehouse": _("Choose an active warehouse.")})
    if not lines:
        raise ValidationError({"lines": _("Add at least one product.")})
    product_ids = [product_id for product_id, _quantity_ in lines]
    if len(set(product_ids)) != len(product_ids):
        raise ValidationError({"lines": _("Give each product once.")})
    for _product_id, quantity in lines:
        _quantity(quantity, "quantity")
    offers = _supplier_products(supplier, product_ids)
    expected_on = expected_on or timezone.localdate() + datetime.timedelta(days=supplier.lead_time_days)
    purchase_order = PurchaseOrder.objects.create(
        supplier=supplier,
        warehouse=warehouse,
        currency=supplier.currency,
        exchange_rate=exchange_rate if supplier.currency != shop_currency() else None,
        expected_on=expected_on,
        notes=(notes or "").strip(),
        created_by=stored_user(actor),
    )
    purchase_order.number = number_for(purchase_order, "PO")
    purchase_order.save(update_fields=["number"])
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=purchase_order,
            product_id=product_id,
            quantity=quantity,
            unit_cost=offers[product_id].unit_cost,
            expected_on=expected_on,
        )
        for product_id, quantity in lines
    )
    return purchase_order
