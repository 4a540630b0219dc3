"""Splitting an order by hand before picking (docs/architecture.md, "Orders that change"): some of
its units held back to go in a later parcel (`ship_later`, `release_ship_later`), or taken out into
a new linked order with their reservations and their share of the money (`split_off`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, ensure_actor
from core.permissions import Orders, require
from core.transitions import TransitionRefused, record_transition

from .. import locks
from ..models import ZERO, Allocation, ArchivedOrder, Order, OrderLine, Payment, Refund
from .changes import lock_changeable, record_change
from .intake import _whole_number, order_number
from .settlement import update_payment_figures
from .transitions import rewriting

CENT = Decimal("0.01")
MAX_CHANNEL_ORDER_ID = Order._meta.get_field("channel_order_id").max_length


@dataclass
class SplitOff:
    """The order split and the new order its units went to."""

    order: Order
    new_order: Order


def _units_wanted(lines: Mapping[int, OrderLine], units: Mapping[object, object]) -> dict[int, int]:
    """{line id: units} read from what the person chose, every problem named by its line."""
    errors, wanted = {}, {}
    for raw_id, raw_units in units.items():
        if raw_units in (None, "", 0, "0"):
            continue
        line = lines.get(_whole_number(raw_id) or 0)
        key = f"line-{raw_id}"
        if line is None:
            errors[key] = [_("This line is no longer on the order; check the order again.")]
            continue
        count = _whole_number(raw_units)
        if count is None or count < 0:
            errors[key] = [_("Enter a whole number of units.")]
        elif count > line.quantity:
            errors[key] = [
                _("%(sku)s has %(quantity)s units on the order; %(count)s is more.")
                % {"sku": line.sku, "quantity": line.quantity, "count": count}
            ]
        elif count:
            wanted[line.pk] = count
    if errors:
        raise ValidationError(errors)
    if not wanted:
        raise ValidationError(_("Choose at least one unit to split off."))
    return wanted


def _refuse_merged(order):
    """A merged order leaves in its group's one parcel (docs/architecture.md, "Merging orders"):
    splitting it would need a second parcel for some of the group."""
    if order.merge_id:
        raise TransitionRefused(
            _("Order %(number)s is merged with other orders into one parcel: unmerge it before splitting it.")
            % {"number": order.number}
        )


def _describe_units(lines, wanted):
    return ", ".join(f"{lines[pk].sku} × {count}" for pk, count in sorted(wanted.items()))


def _take_units(allocations, units, *, make_row):
    """Take `units` from reserved allocations (newest first): a whole row is given to
    `make_row(allocation, None)` to change in place, part of one is cut off into a new row by
    `make_row(allocation, quantity)`. Returns the units no allocation covered."""
    for allocation in sorted(allocations, key=lambda a: a.pk, reverse=True):
        if not units:
            break
        take = min(units, allocation.quantity)
        if take == allocation.quantity:
            make_row(allocation, None)
        else:
            allocation.quantity -= take
            allocation.save(update_fields=["quantity"])
            make_row(allocation, take)
        units -= take
    return units


# --- a second parcel, later ------------------------------------------------------------------------


@transaction.atomic
def ship_later(
    order_id: int, units: Mapping[object, object], *, actor: Actor, seen_updated_at: datetime | None = None
) -> Order:
    """Hold some reserved units of an order back from its next pick list: they stay on the order,
    reserved, and go in a later parcel once released (`release_ship_later`). The first parcel
    leaves the order partially shipped. At least one unit must be left for the first parcel."""
    ensure_actor(actor)
    require(actor, Orders.EDIT_ORDER, _("Your role may not split orders."))
    order = lock_changeable(order_id, seen_updated_at=seen_updated_at, doing=_("split"))
    _refuse_merged(order)
    lines = {line.pk: line for line in order.lines.order_by("pk")}
    wanted = _units_wanted(lines, units)
    allocations = locks.lock_reserved_allocations(order)
    if not allocations:
        raise TransitionRefused(
            _("Order %(number)s has no stock reserved yet: approve it before holding goods back for later.")
            % {"number": order.number}
        )
    of_line = defaultdict(list)
    for allocation in allocations:
        if not allocation.ship_later:
            of_line[allocation.line_id].append(allocation)
    errors = {}
    for pk, count in wanted.items():
        free = sum(a.quantity for a in of_line[pk])
        if count > free:
            errors[f"line-{pk}"] = [
                _("Only %(free)s units of %(sku)s are left for the first parcel.")
                % {"free": free, "sku": lines[pk].sku}
            ]
    if errors:
        raise ValidationError(errors)
    if sum(a.quantity for rows in of_line.values() for a in rows) <= sum(wanted.values()):
        raise ValidationError(
            _("Leave at least one unit for the first parcel; to send nothing now, put the order on hold instead.")
        )

    def hold_back(allocation, quantity):
        if quantity is None:
            allocation.ship_later = True
            allocation.save(update_fields=["ship_later"])
        else:
            Allocation.objects.create(
                line_id=allocation.line_id, stock_level_id=allocation.stock_level_id, quantity=quantity, ship_later=True
            )

    for pk, count in wanted.items():
        _take_units(of_line[pk], count, make_row=hold_back)
    order.save(update_fields=["updated_at"])
    record_change(
        order,
        "ship_later",
        _("Split: %(units)s held back for a later parcel.") % {"units": _describe_units(lines, wanted)},
        actor=actor,
    )
    return order


@transaction.atomic
def release_ship_later(order_id: int, *, actor: Actor) -> Order:
    """Let the units held back for a later parcel go on the next pick list: before picking (the
    split undone), or once the parcel they waited for has left, that is once no warehouse holding
    them still has other goods of the order waiting for their parcel."""
    ensure_actor(actor)
    require(actor, Orders.EDIT_ORDER, _("Your role may not split orders."))
    order = locks.lock_order(order_id)
    allocations = locks.lock_reserved_allocations(order)
    later = [a for a in allocations if a.ship_later]
    if not later:
        raise TransitionRefused(_("Order %(number)s holds nothing back for later.") % {"number": order.number})
    if order.status not in Order.BEFORE_PICKING:
        busy = {a.stock_level.warehouse_id for a in allocations if not a.ship_later}
        waiting = sorted({str(a.stock_level.warehouse) for a in later if a.stock_level.warehouse_id in busy})
        if waiting:
            raise TransitionRefused(
                _(
                    "Order %(number)s still has a parcel to send from %(warehouses)s: release the goods held back "
                    "once it has left."
                )
                % {"number": order.number, "warehouses": ", ".join(waiting)}
            )
    Allocation.objects.filter(pk__in=[a.pk for a in later]).update(ship_later=False)
    order.save(update_fields=["updated_at"])
    record_change(order, "ship_later_released", _("Goods held back released for the next pick list."), actor=actor)
    return order


# --- a new linked order -----------------------------------------------------------------------------


def split_channel_order_id(order: Order) -> str:
    """The channel order id of the next order split from `order`: its own with `-S1`, `-S2`, …
    (cut short to fit the column), the first such id free live or archived, so a channel's
    order ids stay unique (docs/architecture.md, "Orders that change")."""
    taken = set(
        Order.objects.filter(channel_id=order.channel_id, channel_order_id__contains="-S").values_list(
            "channel_order_id", flat=True
        )
    ) | set(
        ArchivedOrder.objects.filter(channel_id=order.channel_id, channel_order_id__contains="-S").values_list(
            "channel_order_id", flat=True
        )
    )
    n = 1
    while True:
        suffix = f"-S{n}"
        candidate = order.channel_order_id[: MAX_CHANNEL_ORDER_ID - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return ZERO
    return (amount * part / whole).quantize(CENT, rounding=ROUND_HALF_UP)


COPIED_FIELDS = (
    "channel",
    "customer",
    "recipient",
    "phone",
    "province",
    "city",
    "district",
    "address",
    "postcode",
    "address_key",
    "delivery_window_start",
    "delivery_window_end",
    "express_requested",
    "language",
    "special_instructions",
    "currency",
    "payment_method",
    "placed_at",
    "received_at",
    "dispatch_due_at",
    "risk_score",
    "hold_reasons",
)


@transaction.atomic
def split_off(
    order_id: int, units: Mapping[object, object], *, actor: Actor, seen_updated_at: datetime | None = None
) -> SplitOff:
    """Take some units of an order that has not reached picking out into a new order linked to it
    (`split_from`), with its own number and a channel order id derived from the original's. The
    units' reservations move with them (the allocation rows, no stock released or reserved); the
    new order takes the lines' subtotal and its share of the discount, the shipping fee stays with
    the original; captured money follows in the same proportion, moved as part of the payment rows
    (`Payment.transferred_from`). Both orders keep the original's status, placing date and reasons.

    Locks: the order, its reserved allocations, then its payments (docs/architecture.md, "Lock order")."""
    ensure_actor(actor)
    require(actor, Orders.EDIT_ORDER, _("Your role may not split orders."))
    order = lock_changeable(order_id, seen_updated_at=seen_updated_at, doing=_("split"))
    _refuse_merged(order)
    if order.status == Order.Status.PENDING:
        raise TransitionRefused(_("Order %(number)s is still being placed.") % {"number": order.number})
    lines = {line.pk: line for line in order.lines.order_by("pk")}
    wanted = _units_wanted(lines, units)
    if sum(line.quantity for line in lines.values()) <= sum(wanted.values()):
        raise ValidationError(_("Leave at least one unit on order %(number)s.") % {"number": order.number})
    if order.refunds.exclude(status=Refund.Status.FAILED).exists():
        raise TransitionRefused(
            _("Order %(number)s has refunds; settle or decline them before splitting it.") % {"number": order.number}
        )

    written = rewriting([order.pk])
    allocations = locks.lock_reserved_allocations(order)
    payments = locks.lock_captured_payments(order)

    new = Order(**{name: getattr(order, name) for name in COPIED_FIELDS})
    new.channel_order_id = split_channel_order_id(order)
    new.split_from = order
    new.created_by = order.created_by
    new.save()
    new.number = order_number(new)
    new.save(update_fields=["number"])

    of_line = defaultdict(list)
    for allocation in allocations:
        of_line[allocation.line_id].append(allocation)
    moved_subtotal = ZERO
    for pk, count in sorted(wanted.items()):
        line = lines[pk]
        moved_subtotal += count * line.unit_price
        if count == line.quantity:
            line.order = new
            line.save(update_fields=["order"])
            continue
        new_line = OrderLine.objects.create(
            order=new,
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            quantity=count,
            unit_price=line.unit_price,
            line_total=count * line.unit_price,
        )
        line.quantity -= count
        line.line_total = line.quantity * line.unit_price
        line.save(update_fields=["quantity", "line_total"])

        def move(allocation, quantity, new_line=new_line):
            if quantity is None:
                allocation.line = new_line
                allocation.save(update_fields=["line"])
            else:
                Allocation.objects.create(
                    line=new_line,
                    stock_level_id=allocation.stock_level_id,
                    quantity=quantity,
                    ship_later=allocation.ship_later,
                )

        _take_units(of_line[pk], count, make_row=move)

    old_total = order.total
    new.subtotal = moved_subtotal
    new.discount = min(_share(order.discount, moved_subtotal, order.subtotal), moved_subtotal)
    new.shipping_fee = ZERO
    new.total = new.subtotal - new.discount
    order.subtotal -= new.subtotal
    order.discount -= new.discount
    order.total = order.subtotal + order.shipping_fee - order.discount
    order.save(update_fields=["subtotal", "discount", "total", "updated_at"])

    to_move = min(_share(order.amount_paid, new.total, old_total), new.total)
    moved_payments = []
    for payment in sorted(payments, key=lambda p: (p.created_at, p.pk), reverse=True):
        if to_move <= 0:
            break
        take = min(payment.amount, to_move)
        if take == payment.amount:
            payment.order = new
            payment.save(update_fields=["order"])
            moved_payments.append(payment)
        else:
            payment.amount -= take
            payment.save(update_fields=["amount"])
            moved_payments.append(
                Payment.objects.create(
                    order=new,
                    method=payment.method,
                    amount=take,
                    reference=payment.reference,
                    status=payment.status,
                    instalment_number=payment.instalment_number,
                    instalment_count=payment.instalment_count,
                    recorded_by=payment.recorded_by,
                    created_at=payment.created_at,
                    transferred_from=payment,
                )
            )
        to_move -= take
    new.save()
    if order.status == Order.Status.CONFIRMED:
        record_transition(new, new.confirm, actor=actor, reason=_("Split from %(number)s") % {"number": order.number})
        Order.objects.filter(pk=new.pk).update(confirmed_at=order.confirmed_at or new.confirmed_at)
    else:
        record_transition(new, new.hold, actor=actor, reason=_("Split from %(number)s") % {"number": order.number})
    update_payment_figures(order)
    update_payment_figures(new)

    moved_text = _describe_units(lines, wanted)
    money = sum((p.amount for p in moved_payments), ZERO)
    paid_text = " " + _("%(amount)s of the payment moved with them.") % {"amount": money} if money else ""
    record_change(
        order,
        "split",
        _("Split: %(units)s moved to new order %(number)s.") % {"units": moved_text, "number": new.number} + paid_text,
        actor=actor,
    )
    record_change(
        new,
        "split",
        _("Split from order %(number)s: %(units)s.") % {"number": order.number, "units": moved_text} + paid_text,
        actor=actor,
    )
    written([order.pk, new.pk])
    new.refresh_from_db()
    return SplitOff(order=order, new_order=new)
