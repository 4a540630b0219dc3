"""Packing: scanning each unit into its parcel, then closing the parcel with its weight."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, require
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import Order

from .. import locks
from ..events import PARCEL_PACKED
from ..models import Shipment, ShipmentLine
from ..selectors import goods_waiting_to_pack
from .common import step
from .merged_parcels import orders_of_parcel

MAX_PACKAGES = 99
MAX_WEIGHT_KG = Decimal("9999")


def _ensure_packing(shipment):
    if shipment.status != Shipment.Status.PENDING:
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s: there is nothing left to pack.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )


@transaction.atomic
def pack_item(shipment_id: int, code: str, *, actor: Actor) -> ShipmentLine:
    """One scanned unit (by barcode or SKU) goes into the parcel. An item that is not in the
    parcel, or whose quantity is already complete, is refused and nothing changes."""
    require(actor, Orders.PICK_ORDER, _("Your role may not pack orders."))
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("Scan an item's barcode or type its SKU.")})
    shipment = locks.lock_shipment_to_pack(shipment_id)
    _ensure_packing(shipment)
    lines = locks.lock_shipment_lines(shipment)
    matching = [
        line for line in lines if line.order_line.product.barcode == code or line.order_line.sku.lower() == code.lower()
    ]
    if not matching:
        raise ValidationError(
            {
                "code": _("%(code)s is not in order %(number)s. Put it aside.")
                % {"code": code, "number": shipment.order.number}
            }
        )
    line = next((line for line in matching if line.packed_quantity < line.quantity), None)
    if line is None:
        first = matching[0]
        raise ValidationError(
            {
                "code": _("All %(quantity)s × %(sku)s are already packed. Put this one aside.")
                % {"quantity": first.quantity, "sku": first.order_line.sku}
            }
        )
    line.packed_quantity += 1
    line.save(update_fields=["packed_quantity"])
    return line


def _positive_decimal(value, field, limit):
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter a number.")}) from None
    if not number.is_finite() or number <= 0 or number > limit:
        raise ValidationError({field: _("Enter a number greater than 0 and at most %(limit)s.") % {"limit": limit}})
    return number


@transaction.atomic
def finish_packing(shipment_id: int, *, weight_kg: Decimal | str, package_count: int | str, actor: Actor) -> Shipment:
    """Close the parcel once every line is complete, with its weight and number of packages. The
    order is packed when none of its goods is still waiting to be packed in any warehouse."""
    require(actor, Orders.PICK_ORDER, _("Your role may not pack orders."))
    weight = _positive_decimal(weight_kg, "weight_kg", MAX_WEIGHT_KG).quantize(Decimal("0.001"))
    try:
        packages = int(str(package_count).strip())
    except ValueError:
        raise ValidationError({"package_count": _("Enter a whole number of packages.")}) from None
    if not 1 <= packages <= MAX_PACKAGES:
        raise ValidationError({"package_count": _("Enter between 1 and %(max)s packages.") % {"max": MAX_PACKAGES}})
    shipment = locks.lock_shipment(shipment_id)
    _ensure_packing(shipment)
    missing = [line for line in shipment.lines.select_related("order_line") if line.packed_quantity < line.quantity]
    if missing:
        raise ValidationError(
            _("Still missing: %(items)s.")
            % {
                "items": ", ".join(
                    f"{line.quantity - line.packed_quantity} × {line.order_line.sku}" for line in missing
                )
            }
        )
    step(shipment, shipment.pack, actor)
    shipment.weight_kg, shipment.package_count, shipment.packed_by = weight, packages, stored_user(actor)
    if shipment.service:
        shipment.shipping_cost = shipment.service.fee_for(weight)
    shipment.save()
    PARCEL_PACKED.publish(shipment=shipment)
    if shipment.purpose == Shipment.Purpose.ORDER:
        # Every order of a merged parcel is packed with it (docs/architecture.md, "Merging orders").
        for order in orders_of_parcel(shipment):
            if order.status == Order.Status.PICKING and not goods_waiting_to_pack(order):
                orders.record_order_transition(order, order.mark_packed, actor=actor, reason=str(shipment))
    return shipment
