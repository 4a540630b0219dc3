"""Transfers between warehouses (docs/architecture.md, "Transfers between warehouses"). Each step
locks the transfer first, then the stock levels it books, in key order, and writes the ledger with
the transfer's number as the reference."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Inventory, require
from core.transitions import TransitionRefused, ensure_allowed

from .. import locks
from ..models import BundleComponent, Product, StockLevel, StockMovement, Transfer, TransferLine, Warehouse
from .stock import MAX_QUANTITY, REASON_LENGTH, _book, _record

Kind = StockMovement.Kind
NOTE_LENGTH = Transfer._meta.get_field("note").max_length


def _not_possible(transfer, bound_method):
    return _("Transfer %(number)s is %(status)s now.") % {
        "number": transfer.number,
        "status": transfer.get_status_display(),
    }


def _not_permitted(transfer, bound_method):
    return _("Your role may not do this with transfers.")


def _step(transfer: Transfer, bound_method, actor: Actor) -> None:
    ensure_allowed(transfer, bound_method, actor, refuse_state=_not_possible, refuse_role=_not_permitted)
    bound_method()


def _whole(value, field: str, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        message = (
            _("Enter a whole number, zero or more.") if allow_zero else _("Enter a whole number greater than zero.")
        )
        raise ValidationError({field: message})
    if value > MAX_QUANTITY:
        raise ValidationError({field: _("Enter at most %(max)s units at a time.") % {"max": f"{MAX_QUANTITY:,}"}})
    return value


@transaction.atomic
def create_transfer(
    *, source_id: int, destination_id: int, lines: list[tuple[int, int]], actor: Actor, note: str = ""
) -> Transfer:
    """Draft a transfer of `lines` ((product id, units) pairs; a product named twice is moved once,
    its units added up) from one warehouse to another. Nothing is booked until it is sent, so a
    draft promises no stock: sending checks what is available then."""
    require(actor, Inventory.ADD_TRANSFER, _("Your role may not draft transfers."))
    if source_id == destination_id:
        raise ValidationError({"destination": _("Choose a warehouse other than the one the goods leave.")})
    warehouses = Warehouse.objects.in_bulk([source_id, destination_id])
    for field, warehouse_id in (("source", source_id), ("destination", destination_id)):
        warehouse = warehouses.get(warehouse_id)
        if warehouse is None:
            raise ValidationError({field: _("Unknown warehouse.")})
        if not warehouse.active:
            raise ValidationError({field: _("%(warehouse)s is not active.") % {"warehouse": warehouse}})
    units = defaultdict(int)
    for product_id, quantity in lines:
        units[product_id] += _whole(quantity, "lines")
    if not units:
        raise ValidationError({"lines": _("Add at least one product to the transfer.")})
    for quantity in units.values():
        _whole(quantity, "lines")
    products = Product.objects.in_bulk(list(units))
    unknown = sorted(set(units) - set(products))
    if unknown:
        raise ValidationError({"lines": _("Unknown product: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}})
    bundles = sorted(
        products[pk].sku
        for pk in BundleComponent.objects.filter(bundle_id__in=list(units)).values_list("bundle_id", flat=True)
    )
    if bundles:
        raise ValidationError(
            {"lines": _("%(skus)s: a bundle holds no stock; move its components.") % {"skus": ", ".join(bundles)}}
        )
    note = " ".join((note or "").split())
    if len(note) > NOTE_LENGTH:
        raise ValidationError({"note": _("Use at most %(max)d characters.") % {"max": NOTE_LENGTH}})
    transfer = Transfer.objects.create(
        source_id=source_id, destination_id=destination_id, note=note, created_by=stored_user(actor)
    )
    TransferLine.objects.bulk_create(
        TransferLine(transfer=transfer, product_id=product_id, quantity=quantity)
        for product_id, quantity in sorted(units.items())
    )
    return transfer


@transaction.atomic
def send_transfer(transfer_id: int, *, actor: Actor) -> Transfer:
    """The goods leave the source: each line's units are booked out of its on-hand stock. Only
    available units go (on hand less what orders have reserved): a line asking more is refused,
    with every short SKU named, and nothing is booked."""
    require(actor, Inventory.SEND_TRANSFER, _("Your role may not send transfers."))
    transfer = locks.lock_transfer(transfer_id)
    _step(transfer, transfer.send, actor)
    lines = list(transfer.lines.select_related("product"))
    levels = {
        level.product_id: level
        for level in locks.lock_in_key_order(
            StockLevel.objects.filter(
                warehouse_id=transfer.source_id, product_id__in=[line.product_id for line in lines]
            )
        ).values()
    }
    short = []
    for line in lines:
        level = levels.get(line.product_id)
        available = level.available if level else 0
        if available < line.quantity:
            short.append(
                _("%(sku)s: %(available)d available of %(wanted)d")
                % {"sku": line.product.sku, "available": available, "wanted": line.quantity}
            )
    if short:
        raise ValidationError(
            _(
                "%(warehouse)s has not enough stock that is not reserved for orders: %(items)s. Lower the "
                "units or cancel the transfer."
            )
            % {"warehouse": transfer.source, "items": "; ".join(short)}
        )
    movements = [
        _record(
            levels[line.product_id],
            Kind.TRANSFER_OUT,
            on_hand_change=-line.quantity,
            reference=transfer.number,
            reason=_("To %(warehouse)s") % {"warehouse": transfer.destination.code},
            actor=actor,
        )
        for line in sorted(lines, key=lambda line: levels[line.product_id].pk)
    ]
    _book(movements)
    transfer.sent_by = stored_user(actor)
    transfer.save()
    return transfer


@transaction.atomic
def receive_transfer(
    transfer_id: int,
    *,
    actor: Actor,
    received: Mapping[int, int] | None = None,
    reasons: Mapping[int, str] | None = None,
) -> Transfer:
    """The goods arrived at the destination. `received` gives the units found per product id (a
    product left out arrived whole); a line with fewer or more units than were sent needs its
    reason in `reasons`. The units sent are booked in as the transfer's, and the difference as an
    adjustment with that reason, so the ledger shows what went missing (or came extra) on the way."""
    require(actor, Inventory.RECEIVE_TRANSFER, _("Your role may not receive transfers."))
    received, reasons = dict(received or {}), dict(reasons or {})
    transfer = locks.lock_transfer(transfer_id)
    _step(transfer, transfer.receive, actor)
    lines = list(transfer.lines.select_related("product"))
    unknown = set(received) - {line.product_id for line in lines}
    if unknown:
        raise ValidationError(
            {"received": _("Those products are not on transfer %(number)s.") % {"number": transfer.number}}
        )
    for line in lines:
        field = f"received_{line.product_id}"
        line.received = _whole(received.get(line.product_id, line.quantity), field, allow_zero=True)
        reason = " ".join((reasons.get(line.product_id) or "").split())
        if line.received != line.quantity and not reason:
            raise ValidationError(
                {
                    f"reason_{line.product_id}": _("%(sku)s: %(received)d received of %(sent)d sent; say why.")
                    % {"sku": line.product.sku, "received": line.received, "sent": line.quantity}
                }
            )
        if len(reason) > REASON_LENGTH:
            raise ValidationError(
                {f"reason_{line.product_id}": _("Use at most %(max)d characters.") % {"max": REASON_LENGTH}}
            )
        line.difference_reason = reason if line.received != line.quantity else ""
    for line in lines:
        StockLevel.objects.get_or_create(product_id=line.product_id, warehouse_id=transfer.destination_id)
    levels = {
        level.product_id: level
        for level in locks.lock_in_key_order(
            StockLevel.objects.filter(
                warehouse_id=transfer.destination_id, product_id__in=[line.product_id for line in lines]
            )
        ).values()
    }
    movements = []
    for line in sorted(lines, key=lambda line: levels[line.product_id].pk):
        level = levels[line.product_id]
        movements.append(
            _record(
                level,
                Kind.TRANSFER_IN,
                on_hand_change=line.quantity,
                reference=transfer.number,
                reason=_("From %(warehouse)s") % {"warehouse": transfer.source.code},
                actor=actor,
            )
        )
        if line.difference:
            movements.append(
                _record(
                    level,
                    Kind.ADJUSTMENT,
                    on_hand_change=line.difference,
                    reference=transfer.number,
                    reason=line.difference_reason,
                    actor=actor,
                )
            )
    _book(movements)
    TransferLine.objects.bulk_update(lines, ["received", "difference_reason"])
    transfer.received_by = stored_user(actor)
    transfer.save()
    return transfer


@transaction.atomic
def cancel_transfer(transfer_id: int, *, actor: Actor) -> Transfer:
    """Drop a draft: nothing was booked, so nothing is given back. A transfer on its way is received
    (with what arrived) instead."""
    require(actor, Inventory.ADD_TRANSFER, _("Your role may not cancel transfers."))
    transfer = locks.lock_transfer(transfer_id)
    if transfer.status == Transfer.Status.IN_TRANSIT:
        raise TransitionRefused(
            _("Transfer %(number)s is on its way: receive it at %(warehouse)s with the units that arrive.")
            % {"number": transfer.number, "warehouse": transfer.destination}
        )
    _step(transfer, transfer.cancel, actor)
    transfer.cancelled_by = stored_user(actor)
    transfer.save()
    return transfer
