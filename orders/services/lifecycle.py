"""Everything that moves an order after intake. Each function is one transaction that locks the
order row first, then its allocations and stock (by primary key, in the lock order of
docs/architecture.md), so two people acting on one order at once are served one after the other
and the second is told what happened."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor, person
from core.permissions import Orders, require
from core.transitions import TransitionRefused, ensure_allowed
from inventory import services as inventory

from .. import locks
from ..events import DELIVERY_ADDRESS_CORRECTED, ORDER_CANCELLED
from ..models import Allocation, NotificationEvent, Order, OrderEvent, OrderLine, OrderNote
from . import addresses, checks, gifts
from .intake import reserve_lines, shortage_reason
from .merging import leave_merge
from .notifications import notify
from .phones import mask_phone, normalize_phone
from .settlement import request_refunds_owed
from .transitions import record_order_transition, rewriting


def lock_order(order_id: int, expected_status: str | None = None) -> Order:
    """Lock the order row. `expected_status` is the status the person acting saw: if someone
    changed the order meanwhile, they are told instead of acting on an order they have not seen."""
    order = locks.lock_order(order_id)
    if expected_status and order.status != expected_status:
        raise TransitionRefused(
            _(
                "Order %(number)s changed while you were looking at it: it is %(status)s now. Check it again before you act."
            )
            % {"number": order.number, "status": order.get_status_display()}
        )
    return order


def _required_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason; it is kept in the order's history.")})
    return reason


@transaction.atomic
def approve(order_id: int, *, actor: Actor, reason: str = "", expected_status: str | None = None) -> OrderEvent:
    """A reviewer releases a held order: its stock is reserved now, or the approval is refused
    with what is missing and the order stays held. A gift whose stock ran out while the order was
    held is dropped, with a note on the timeline, rather than holding the order."""
    order = lock_order(order_id, expected_status)
    ensure_allowed(order, order.approve, actor)
    if not Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED).exists():
        lines, shortages, notes = reserve_dropping_short_gifts(order, actor=actor)
        if shortages:
            raise TransitionRefused(checks.describe(shortage_reason(shortages, lines)))
        reason = "\n".join(filter(None, [reason, *notes]))
    event = record_order_transition(order, order.approve, actor=actor, reason=reason)
    notify(order, NotificationEvent.ORDER_CONFIRMED)
    return event


def reserve_dropping_short_gifts(order: Order, *, actor: Actor) -> tuple[list[OrderLine], dict[int, int], list[str]]:
    """Reserve stock for every line of a locked order, or none. When only gift lines are short, they
    are dropped (a gift never holds an order: docs/architecture.md, "Bundles, gifts and channel
    SKUs"; the rollups recount the order) and the rest reserved. Returns the lines, the shortages by
    product id (nothing reserved when any) and a timeline note for each gift dropped."""
    lines = list(order.lines.all())
    _allocations, shortages = reserve_lines(order, lines, actor=actor)
    if not shortages:
        return lines, shortages, []
    lines, dropped = gifts.without_short_gifts(lines, shortages)
    if not dropped:
        return lines, shortages, []
    written = rewriting([order.pk])
    OrderLine.objects.filter(pk__in=[line.pk for line in dropped]).delete()
    written([order.pk])
    _allocations, shortages = reserve_lines(order, lines, actor=actor)
    return lines, shortages, [gifts.dropped_gift_note(line) for line in dropped]


@transaction.atomic
def reject(order_id: int, *, actor: Actor, reason: str, expected_status: str | None = None) -> OrderEvent:
    """A reviewer turns a held order down: it is cancelled with the reviewer's reason."""
    return _end_before_shipping(order_id, "reject", actor=actor, reason=reason, expected_status=expected_status)


@transaction.atomic
def cancel(order_id: int, *, actor: Actor, reason: str, expected_status: str | None = None) -> OrderEvent:
    """Cancel before shipping: reserved stock goes back, and captured money becomes a refund owed."""
    return _end_before_shipping(order_id, "cancel", actor=actor, reason=reason, expected_status=expected_status)


def _end_before_shipping(order_id, transition_name, *, actor, reason, expected_status):
    # A merged order's group is locked with it, ascending: it leaves the merge (merging.leave_merge).
    order = locks.lock_order_and_merged(order_id)
    if expected_status:
        order = lock_order(order_id, expected_status)
    reason = _required_reason(reason)
    step = getattr(order, transition_name)
    ensure_allowed(order, step, actor)
    leave_merge(order, actor=actor, reason=reason)
    _release_and_settle(order, actor, reason)
    event = record_order_transition(order, step, actor=actor, reason=reason)
    ORDER_CANCELLED.publish(order=order)
    notify(order, NotificationEvent.ORDER_CANCELLED)
    return event


def _release_and_settle(order, actor, reason):
    allocations = locks.lock_reserved_allocations(order)
    if allocations:
        inventory.release([(a.stock_level_id, a.quantity) for a in allocations], reference=order.number, actor=actor)
        Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(state=Allocation.State.RELEASED)
    if order.amount_paid > order.amount_refunded:
        request_refunds_owed(order, actor=actor, reason=reason)


@transaction.atomic
def complete(order_id: int, *, actor: Actor, expected_status: str | None = None, reason: str = "") -> OrderEvent:
    order = lock_order(order_id, expected_status)
    return record_order_transition(order, order.complete, actor=actor, reason=reason)


@transaction.atomic
def dispatch_from_warehouse(order_id: int, warehouse_id: int, *, actor: Actor, reference: str) -> OrderEvent:
    """The goods of one warehouse left with a carrier: their stock leaves the books, and the order
    is shipped once no warehouse has anything left to send."""
    order = lock_order(order_id)
    allocations = locks.lock_reserved_allocations(order)
    # Goods held back for a later parcel stay (orders.services.splitting.ship_later).
    leaving = [a for a in allocations if a.stock_level.warehouse_id == warehouse_id and not a.ship_later]
    remaining = len(allocations) - len(leaving)
    step = order.ship_partially if remaining else order.ship
    ensure_allowed(order, step, actor)
    if not leaving:
        raise TransitionRefused(
            _("Order %(number)s has nothing waiting to leave this warehouse.") % {"number": order.number}
        )
    event = record_order_transition(order, step, actor=actor, reason=reference)
    inventory.ship_out([(a.stock_level_id, a.quantity) for a in leaving], reference=order.number, actor=actor)
    Allocation.objects.filter(pk__in=[a.pk for a in leaving]).update(state=Allocation.State.SHIPPED)
    return event


@transaction.atomic
def record_delivery(order_id: int, *, actor: Actor, reason: str = "") -> OrderEvent:
    """Every parcel reached the customer. Cash on delivery is not captured here: the carrier holds
    it until it pays it over, and the remittance records it (record_cod_remitted;
    docs/architecture.md, "Cash-on-delivery remittance")."""
    order = lock_order(order_id)
    return record_order_transition(order, order.deliver, actor=actor, reason=reason)


@transaction.atomic
def add_note(order_id: int, *, author: Actor, text: str) -> OrderNote:
    require(author, Orders.ADD_ORDERNOTE, _("Your role may not add notes to orders."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note first.")})
    order = Order.objects.get(pk=order_id)
    return OrderNote.objects.create(order=order, author=person(author), text=text)


# The reasons an address gave, which a corrected address answers.
ADDRESS_REASONS = ("address_incomplete", "region_unknown", "region_not_in", "region_ambiguous", "unreachable")


def _recheck_region(order: Order) -> None:
    """Read a corrected address as intake reads one (docs/architecture.md, "Addresses"): a region
    that does not exist is refused on its field; one that does is stored by its official names, and
    the reasons the old address gave leave the order."""
    place = addresses.read_address(order.province, order.city, order.district, order.address)
    if place.reasons:
        raise ValidationError(
            {reason["params"]["level"]: checks.describe(reason) for reason in reversed(place.reasons)}
        )
    order.province, order.city, order.district, order.address = place.province, place.city, place.district, place.street
    order.region_code = place.region_code or None
    order.address_key = checks.address_key(order.province, order.city, order.district, order.address)
    order.hold_reasons = [r for r in order.hold_reasons if r.get("code") not in ADDRESS_REASONS]
    if order.region_code and order.region_code in checks.unreachable_regions({order.region_code}):
        order.hold_reasons.append(checks.unreachable_reason(order))


@transaction.atomic
def update_delivery_address(order_id: int, *, actor: Actor, **fields: str) -> Order:
    """A reviewer corrects where a held or confirmed order goes; the change is kept as a note."""
    require(actor, Orders.REVIEW_ORDER, _("Your role may not change delivery addresses."))
    editable = {"recipient", "phone", "province", "city", "district", "address", "postcode"}
    unknown = set(fields) - editable
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    order = lock_order(order_id)
    if order.status not in Order.ADDRESS_EDITABLE:
        raise TransitionRefused(
            _("Order %(number)s is %(status)s; its address can no longer be changed.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    changes, before = [], {}
    for name, value in fields.items():
        value = (value or "").strip()
        if name == "phone":
            value, valid = normalize_phone(value)
            if not valid:
                raise ValidationError({"phone": _("Enter a valid phone number.")})
        if value != getattr(order, name):
            before[name] = getattr(order, name)
            shown_before, shown_after = before[name], value
            if name == "phone":
                # Notes are read by roles that see phone numbers masked.
                shown_before, shown_after = mask_phone(shown_before), mask_phone(shown_after)
            changes.append(f"{Order._meta.get_field(name).verbose_name}: {shown_before} → {shown_after}")
            setattr(order, name, value)
    if changes:
        _recheck_region(order)
        order.save()
        OrderNote.objects.create(order=order, author=person(actor), text=_("Address changed. ") + "; ".join(changes))
        DELIVERY_ADDRESS_CORRECTED.publish(order=order, before=before)
    return order
