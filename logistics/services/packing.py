"""Packing: scanning each unit into its parcel, then closing the parcel with its weight. The
packing station sends scans faster than a person reads, one after another: each is answered with
the parcel's new state and the sound to play, and each refusal is kept for the packer's accuracy
(docs/architecture.md, "The packing station")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, require
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import Order

from .. import locks
from ..events import PACKING_SCAN_REFUSED, PARCEL_PACKED
from ..models import PackingScanRefusal, Shipment, ShipmentLine
from ..selectors import goods_waiting_to_pack
from .common import step
from .merged_parcels import orders_of_parcel

MAX_PACKAGES = 99
MAX_WEIGHT_KG = Decimal("9999")
MAX_UNITS_PER_SCAN = 999
# "12*CODE" or "12xCODE": twelve identical units with one scan (typed before scanning the first).
UNITS_THEN_CODE = re.compile(r"^(\d{1,4})\s*[*xX×]\s*(\S.*)$")


class Sound(StrEnum):
    """What the packing station plays for a scan's answer: the packer hears it without looking."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    COMPLETE = "complete"


@dataclass(frozen=True)
class ScanAnswer:
    """The parcel as a scan left it, with what to tell the packer."""

    shipment: Shipment
    lines: list[ShipmentLine]
    accepted: bool
    message: str
    sound: Sound
    line: ShipmentLine | None = None

    @property
    def complete(self) -> bool:
        return all(line.packed_quantity == line.quantity for line in self.lines)


class _Refused(Exception):
    """A scan refused under the parcel's lock: raised out of the scan's transaction, which changed
    nothing, so the refusal is then recorded in one of its own."""

    def __init__(self, answer: ScanAnswer, reason: str, code: str, units: int):
        super().__init__(answer.message)
        self.answer, self.reason, self.code, self.units = answer, reason, code, units


def _ensure_packing(shipment):
    if shipment.status != Shipment.Status.PENDING:
        raise TransitionRefused(
            _("Shipment %(shipment)s is %(status)s: there is nothing left to pack.")
            % {"shipment": shipment, "status": shipment.get_status_display()}
        )


def _matches(line, code):
    return line.order_line.product.barcode == code or line.order_line.sku.lower() == code.lower()


def _units_and_code(typed, lines):
    """What was typed as (units, code): a code as it is when a line knows it (a SKU may itself look
    like "3x5"), otherwise "12*CODE" or "12xCODE" for twelve units."""
    if any(_matches(line, typed) for line in lines):
        return 1, typed
    shortcut = UNITS_THEN_CODE.match(typed)
    if shortcut is None:
        return 1, typed
    units = int(shortcut.group(1))
    if not 1 <= units <= MAX_UNITS_PER_SCAN:
        raise ValidationError(
            {"code": _("Type between 1 and %(max)s units before the code.") % {"max": MAX_UNITS_PER_SCAN}}
        )
    return units, shortcut.group(2).strip()


def scan_item(shipment_id: int, typed: str, *, actor: Actor) -> ScanAnswer:
    """One scan at the packing station: a unit (by barcode or SKU), or "12*CODE" for twelve, goes
    into the parcel under its row lock, so two stations scanning the same parcel never count a unit
    twice. A refused scan (not in the parcel, its line or the whole parcel already complete, more
    units than missing, a parcel no longer waiting) changes nothing and is recorded as the packer's
    in a transaction of its own after the scan's, so the refusal is kept (inside a caller's own
    transaction both are part of it, and go with it)."""
    require(actor, Orders.PICK_ORDER, _("Your role may not pack orders."))
    typed = (typed or "").strip()
    if not typed:
        raise ValidationError({"code": _("Scan an item's barcode or type its SKU.")})
    try:
        return _scan(shipment_id, typed)
    except _Refused as refused:
        with transaction.atomic():
            refusal = PackingScanRefusal.objects.create(
                scanned_by=stored_user(actor),
                code=refused.code[: PackingScanRefusal._meta.get_field("code").max_length],
                quantity=refused.units,
                shipment_id=refused.answer.shipment.pk,
                order_number=refused.answer.shipment.order.number,
                warehouse_id=refused.answer.shipment.warehouse_id,
                reason=refused.reason,
            )
            PACKING_SCAN_REFUSED.publish(refusal=refusal)
        return refused.answer


@transaction.atomic
def _scan(shipment_id, typed):
    shipment = locks.lock_shipment_to_pack(shipment_id)
    lines = locks.lock_shipment_lines(shipment)
    number = shipment.order.number

    def refuse(reason, message, code=typed, units=1):
        raise _Refused(ScanAnswer(shipment, lines, False, message, Sound.REFUSED), reason, code, units)

    if shipment.status != Shipment.Status.PENDING:
        refuse(
            PackingScanRefusal.Reason.NOT_PACKING,
            _("Shipment %(shipment)s is %(status)s: there is nothing left to pack.")
            % {"shipment": shipment, "status": shipment.get_status_display()},
        )
    if all(line.packed_quantity == line.quantity for line in lines):
        refuse(
            PackingScanRefusal.Reason.PARCEL_COMPLETE,
            _("Order %(number)s is already complete: %(code)s is one too many. Put it aside.")
            % {"number": number, "code": typed},
        )
    units, code = _units_and_code(typed, lines)
    matching = [line for line in lines if _matches(line, code)]
    if not matching:
        refuse(
            PackingScanRefusal.Reason.NOT_IN_ORDER,
            _("%(code)s is not in order %(number)s. Put it aside.") % {"code": code, "number": number},
            code,
            units,
        )
    sku = matching[0].order_line.sku
    missing = sum(line.quantity - line.packed_quantity for line in matching)
    if not missing:
        refuse(
            PackingScanRefusal.Reason.LINE_COMPLETE,
            _("All %(quantity)s × %(sku)s are already packed. Put this one aside.")
            % {"quantity": sum(line.quantity for line in matching), "sku": sku},
            code,
            units,
        )
    if units > missing:
        refuse(
            PackingScanRefusal.Reason.TOO_MANY,
            _("Only %(missing)s × %(sku)s are still missing, not %(units)s: count them again.")
            % {"missing": missing, "sku": sku, "units": units},
            code,
            units,
        )
    left = units
    for line in matching:
        taken = min(left, line.quantity - line.packed_quantity)
        if taken:
            line.packed_quantity += taken
            line.save(update_fields=["packed_quantity"])
            last, left = line, left - taken
    if shipment.packing_started_at is None:
        shipment.packing_started_at = timezone.now()
        shipment.save(update_fields=["packing_started_at"])
    packed = sum(line.packed_quantity for line in matching)
    needed = sum(line.quantity for line in matching)
    if units == 1:
        message = _("%(sku)s packed: %(packed)s of %(quantity)s.") % {"sku": sku, "packed": packed, "quantity": needed}
    else:
        message = _("%(units)s × %(sku)s packed: %(packed)s of %(quantity)s.") % {
            "units": units,
            "sku": sku,
            "packed": packed,
            "quantity": needed,
        }
    answer = ScanAnswer(shipment, lines, True, message, Sound.ACCEPTED, last)
    if answer.complete:
        message = f"{message} {_('Every item is in. Weigh the parcel and close it.')}"
        answer = ScanAnswer(shipment, lines, True, message, Sound.COMPLETE, last)
    return answer


def pack_item(shipment_id: int, code: str, *, actor: Actor) -> ShipmentLine:
    """One unit scanned in, for callers that pack without a station (the demo shop, tests of the
    whole cycle): a refusal is recorded as at the station and raised, as a TransitionRefused when
    the parcel is no longer waiting to be packed, otherwise as a ValidationError of the code."""
    answer = scan_item(shipment_id, code, actor=actor)
    if answer.accepted:
        return answer.line
    if answer.shipment.status != Shipment.Status.PENDING:
        raise TransitionRefused(answer.message)
    raise ValidationError({"code": answer.message})


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
