"""Buying stock (docs/architecture.md, "Suppliers and purchase orders"): drafting, approving,
sending, receiving and closing purchase orders. Each function is one transaction; a purchase order
is locked first (inventory.locks), then its lines, then the stock levels a receipt books, then the
products whose average cost it changes."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Inventory, may, require
from core.transitions import TransitionRefused, ensure_allowed, number_for, record_transition

from .. import locks
from ..models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchasingSettings,
    StockLevel,
    Supplier,
    SupplierProduct,
    Warehouse,
    shop_currency,
)
from .stock import MAX_QUANTITY, REASON_LENGTH, PurchasedGoods, take_in_purchased

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


@dataclass(frozen=True)
class DraftLine:
    """A line of a draft as the buyer typed it: the product, how many, and optionally its own
    expected date and a cost other than the supplier's."""

    product_id: int
    quantity: int
    unit_cost: Decimal | None = None
    expected_on: datetime.date | None = None


def _lock_draft(purchase_order_id: int, actor: Actor) -> PurchaseOrder:
    require(actor, Inventory.ADD_PURCHASEORDER, _("Your role may not change purchase orders."))
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    if purchase_order.status != Status.DRAFT:
        raise TransitionRefused(
            _("Purchase order %(number)s is %(status)s now: only a draft can be changed.")
            % {"number": purchase_order, "status": purchase_order.get_status_display()}
        )
    return purchase_order


def _forget_approval(purchase_order: PurchaseOrder) -> None:
    """A manager approved what the order was; a changed draft needs approving again."""
    purchase_order.approved_by = None
    purchase_order.approved_at = None


@transaction.atomic
def update_purchase_order(
    purchase_order_id: int,
    *,
    actor: Actor,
    lines: Sequence[DraftLine],
    expected_on: datetime.date | None,
    exchange_rate: Decimal | None,
    notes: str = "",
) -> PurchaseOrder:
    """Change a draft: its lines (replaced whole), expected date, exchange rate and notes. A
    manager's approval of it is withdrawn."""
    purchase_order = _lock_draft(purchase_order_id, actor)
    if not lines:
        raise ValidationError({"lines": _("Add at least one product.")})
    product_ids = [line.product_id for line in lines]
    if len(set(product_ids)) != len(product_ids):
        raise ValidationError({"lines": _("Give each product once.")})
    for line in lines:
        _quantity(line.quantity, "quantity")
        if line.unit_cost is not None and line.unit_cost < 0:
            raise ValidationError({"unit_cost": _("A unit cost cannot be negative.")})
    offers = _supplier_products(purchase_order.supplier, product_ids)
    if exchange_rate is not None and exchange_rate <= 0:
        raise ValidationError({"exchange_rate": _("An exchange rate is greater than zero.")})
    purchase_order.expected_on = expected_on
    purchase_order.exchange_rate = exchange_rate if purchase_order.currency != shop_currency() else None
    purchase_order.notes = (notes or "").strip()
    _forget_approval(purchase_order)
    purchase_order.save()
    purchase_order.lines.all().delete()
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=purchase_order,
            product_id=line.product_id,
            quantity=line.quantity,
            unit_cost=offers[line.product_id].unit_cost if line.unit_cost is None else line.unit_cost,
            expected_on=line.expected_on or expected_on,
        )
        for line in lines
    )
    return purchase_order


def value_in_shop_currency(purchase_order: PurchaseOrder) -> Decimal:
    """What the order is worth in the shop's currency, at its exchange rate."""
    total = purchase_order.lines.aggregate(total=Sum(F("quantity") * F("unit_cost")))["total"] or Decimal("0")
    return (total * rate_to_shop(purchase_order)).quantize(CENT, ROUND_HALF_UP)


def needs_approval(purchase_order: PurchaseOrder) -> bool:
    """Whether the draft is worth more than the console's threshold and no manager approved it."""
    if purchase_order.approved_at is not None:
        return False
    return value_in_shop_currency(purchase_order) > PurchasingSettings.current().approval_threshold


def _log(purchase_order: PurchaseOrder, transition_name: str, actor: Actor, reason: str = "") -> None:
    purchase_order.events.create(
        from_status=purchase_order.status,
        to_status=purchase_order.status,
        transition=transition_name,
        actor=stored_user(actor),
        reason=reason,
    )


@transaction.atomic
def approve_purchase_order(purchase_order_id: int, *, actor: Actor) -> PurchaseOrder:
    """A manager approves a draft as it is now, so a buyer may send it above the threshold."""
    require(actor, Inventory.APPROVE_PURCHASE_ORDER, _("Only a manager may approve purchase orders."))
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    if purchase_order.status != Status.DRAFT:
        raise TransitionRefused(
            _("Purchase order %(number)s is %(status)s now: only a draft is approved.")
            % {"number": purchase_order, "status": purchase_order.get_status_display()}
        )
    check_currency(purchase_order)
    purchase_order.approved_by = stored_user(actor)
    purchase_order.approved_at = timezone.now()
    purchase_order.save(update_fields=["approved_by", "approved_at", "updated_at"])
    _log(purchase_order, "approve", actor)
    return purchase_order


@transaction.atomic
def send_purchase_order(purchase_order_id: int, *, actor: Actor) -> PurchaseOrder:
    """The draft goes to the supplier. It must be in the supplier's currency (with a rate when not
    the shop's), reach the supplier's minimum order, and above the console's threshold have a
    manager's approval; a manager sending it approves it by doing so."""
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    ensure_allowed(purchase_order, purchase_order.send, actor)
    if not purchase_order.lines.exists():
        raise ValidationError({"lines": _("Purchase order %(number)s has no lines.") % {"number": purchase_order}})
    check_currency(purchase_order)
    total = purchase_order.lines.aggregate(total=Sum(F("quantity") * F("unit_cost")))["total"]
    if total < purchase_order.supplier.minimum_order_value:
        raise ValidationError(
            {
                "lines": _(
                    "Purchase order %(number)s is worth %(currency)s %(total)s; %(supplier)s takes orders "
                    "from %(currency)s %(minimum)s."
                )
                % {
                    "number": purchase_order,
                    "currency": purchase_order.currency,
                    "total": total.quantize(CENT),
                    "supplier": purchase_order.supplier.code,
                    "minimum": purchase_order.supplier.minimum_order_value,
                }
            }
        )
    if needs_approval(purchase_order):
        if not may(actor, Inventory.APPROVE_PURCHASE_ORDER):
            raise PermissionDenied(
                _(
                    "Purchase order %(number)s is worth %(shop)s %(value)s, above %(shop)s %(threshold)s: "
                    "a manager approves it before it is sent."
                )
                % {
                    "number": purchase_order,
                    "shop": shop_currency(),
                    "value": value_in_shop_currency(purchase_order),
                    "threshold": PurchasingSettings.current().approval_threshold,
                }
            )
        purchase_order.approved_by = stored_user(actor)
        purchase_order.approved_at = timezone.now()
    record_transition(purchase_order, purchase_order.send, actor=actor)
    return purchase_order


@transaction.atomic
def cancel_purchase_order(purchase_order_id: int, *, reason: str, actor: Actor) -> PurchaseOrder:
    """A draft or sent purchase order will not be delivered; the reason is required."""
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the purchase order is cancelled.")})
    if len(reason) > PurchaseOrder._meta.get_field("cancel_reason").max_length:
        raise ValidationError({"reason": _("Use at most %(max)d characters.") % {"max": 255}})
    ensure_allowed(purchase_order, purchase_order.cancel, actor)
    purchase_order.cancel_reason = reason
    record_transition(purchase_order, purchase_order.cancel, actor=actor, reason=reason)
    return purchase_order


@transaction.atomic
def close_purchase_order(purchase_order_id: int, *, actor: Actor) -> PurchaseOrder:
    """A received purchase order is settled with the supplier and leaves the open work."""
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    record_transition(purchase_order, purchase_order.close, actor=actor)
    return purchase_order


@dataclass(frozen=True)
class LineReceipt:
    """What arrived for one line in one delivery: good units, damaged units, why the line's total
    differs from what was ordered (required when more arrive, or when `no_more_to_come` ends it
    short), and whether the rest of the line will not come."""

    line_id: int
    good: int = 0
    damaged: int = 0
    reason: str = ""
    no_more_to_come: bool = False


def _moving_average(previous_units: int, previous_cost: Decimal, units: int, unit_cost: Decimal) -> Decimal:
    if previous_units <= 0:
        return unit_cost.quantize(CENT, ROUND_HALF_UP)
    total = previous_units * previous_cost + units * unit_cost
    return (total / (previous_units + units)).quantize(CENT, ROUND_HALF_UP)


def _revalue(purchase_order: PurchaseOrder, good_by_line: dict[PurchaseOrderLine, int]) -> None:
    """The products' cost becomes the moving weighted average of what is on hand and what arrived
    good, in the shop's currency (docs/architecture.md, "Suppliers and purchase orders")."""
    rate = rate_to_shop(purchase_order)
    products = locks.lock_products_for_cost(line.product_id for line in good_by_line)
    on_hand = dict(
        StockLevel.objects.filter(product_id__in=products)
        .values("product_id")
        .annotate(units=Sum("on_hand"))
        .values_list("product_id", "units")
    )
    arriving: dict[int, tuple[int, Decimal]] = {}
    for line, units in good_by_line.items():
        count, value = arriving.get(line.product_id, (0, Decimal("0")))
        arriving[line.product_id] = (count + units, value + units * line.unit_cost * rate)
    for product_id, (units, value) in arriving.items():
        product = products[product_id]
        before = on_hand.get(product_id, 0) - units
        product.cost = _moving_average(before, product.cost, units, value / units)
        product.save(update_fields=["cost"])


def _over(line: PurchaseOrderLine) -> bool:
    return line.arrived > line.quantity


@transaction.atomic
def receive_purchase_order(
    purchase_order_id: int, receipts: Sequence[LineReceipt], *, actor: Actor, reference: str = ""
) -> PurchaseOrder:
    """Book a delivery against a sent purchase order: good units on hand and damaged ones into
    quarantine at its warehouse, each ledger line naming its purchase-order line; more than ordered,
    or a line ended short, only with a reason. The order becomes partially received, or received
    once every line is done. Locks the purchase order, its lines, the stock levels, then the
    products whose cost changes, so one line received twice at once is booked once and the second
    receipt sees the first."""
    require(actor, Inventory.RECEIVE_STOCK, _("Your role may not book goods received."))
    purchase_order = locks.lock_purchase_order(purchase_order_id)
    ensure_allowed(purchase_order, purchase_order.receive_part, actor)
    check_currency(purchase_order)
    lines = locks.lock_purchase_order_lines(purchase_order.pk)
    if not receipts:
        raise ValidationError({"lines": _("Enter what arrived.")})
    seen = set()
    goods, good_by_line, notes = [], {}, []
    for receipt in receipts:
        line = lines.get(receipt.line_id)
        if line is None:
            raise ValidationError(
                {"lines": _("That line is not on purchase order %(number)s.") % {"number": purchase_order}}
            )
        if line.pk in seen:
            raise ValidationError({"lines": _("%(sku)s is given twice.") % {"sku": line.product.sku}})
        seen.add(line.pk)
        good = _quantity(receipt.good, "good", allow_zero=True)
        damaged = _quantity(receipt.damaged, "damaged", allow_zero=True)
        reason = _reason(receipt.reason)
        if not (good or damaged or receipt.no_more_to_come):
            continue
        if line.closed_short and (good or damaged) and not reason:
            raise ValidationError(
                {
                    "reason": _(
                        "%(sku)s was ended short; say in “why the quantity differs” why units arrive after all."
                    )
                    % {"sku": line.product.sku}
                }
            )
        line.quantity_received += good
        line.quantity_damaged += damaged
        if _over(line) and not (reason or line.difference_reason):
            raise ValidationError(
                {
                    "reason": _(
                        "%(sku)s: %(arrived)d units would have arrived against %(ordered)d ordered; say in "
                        "“why the quantity differs” why more are taken in."
                    )
                    % {"sku": line.product.sku, "arrived": line.arrived, "ordered": line.quantity}
                }
            )
        if receipt.no_more_to_come and line.arrived < line.quantity:
            if not reason:
                raise ValidationError(
                    {
                        "reason": _(
                            "%(sku)s: %(arrived)d of %(ordered)d units arrived; say in “why the quantity differs” "
                            "why no more will come."
                        )
                        % {"sku": line.product.sku, "arrived": line.arrived, "ordered": line.quantity}
                    }
                )
            line.closed_short = True
        if reason:
            line.difference_reason = reason
        line.save(update_fields=["quantity_received", "quantity_damaged", "closed_short", "difference_reason"])
        if good or damaged:
            goods.append(PurchasedGoods(line.pk, line.product_id, good, damaged))
        if good:
            good_by_line[line] = good
        notes.append(
            _("%(sku)s: %(good)d good, %(damaged)d damaged")
            % {"sku": line.product.sku, "good": good, "damaged": damaged}
        )
    if not notes:
        raise ValidationError({"lines": _("Enter at least one unit that arrived.")})
    if goods:
        take_in_purchased(purchase_order.warehouse, goods, reference=reference or purchase_order.number, actor=actor)
    if good_by_line:
        _revalue(purchase_order, good_by_line)
    step = purchase_order.receive_all if all(line.done for line in lines.values()) else purchase_order.receive_part
    record_transition(purchase_order, step, actor=actor, reason="; ".join(notes))
    return purchase_order


@transaction.atomic
def receive_scanned(purchase_order_id: int, *, code: str, actor: Actor, damaged: bool = False) -> PurchaseOrderLine:
    """One unit scanned at the receiving page: its barcode, the shop's SKU or the supplier's code
    finds its line. A scan takes in no more than was ordered; more goes through the form, with a
    reason."""
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("Scan a barcode or type a SKU.")})
    purchase_order = PurchaseOrder.objects.select_related("supplier").get(pk=purchase_order_id)
    product = (
        Product.objects.filter(barcode=code).first()
        or Product.objects.filter(sku=code).first()
        or Product.objects.filter(supplied_by__supplier=purchase_order.supplier, supplied_by__supplier_sku=code).first()
    )
    if product is None:
        raise ValidationError({"code": _("No product has the barcode or SKU “%(code)s”.") % {"code": code}})
    line = purchase_order.lines.filter(product=product).first()
    if line is None:
        raise ValidationError(
            {
                "code": _("%(sku)s is not on purchase order %(number)s: put it aside.")
                % {"sku": product.sku, "number": purchase_order}
            }
        )
    if line.done:
        raise ValidationError(
            {
                "code": _("%(sku)s: all %(ordered)d units ordered are in. Book more through the form, with the reason.")
                % {"sku": product.sku, "ordered": line.quantity}
            }
        )
    receive_purchase_order(
        purchase_order.pk,
        [LineReceipt(line.pk, good=0 if damaged else 1, damaged=1 if damaged else 0)],
        actor=actor,
        reference=purchase_order.number,
    )
    line.refresh_from_db()
    return line
