"""Editing an order before picking (docs/architecture.md, "Orders that change"): lines added,
removed or changed, re-priced, checked again, its reserved stock adjusted, in one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from core.actors import SYSTEM, Actor, ensure_actor, stored_user
from core.permissions import Orders, require
from core.transitions import take_transition
from inventory import locks as inventory_locks
from inventory import services as inventory
from inventory.models import StockLevel

from .. import locks
from ..models import ZERO, Allocation, IntakeSettings, NotificationEvent, Order, OrderLine, Refund
from . import checks
from .changes import lock_changeable, record_change
from .intake import (
    MAX_AMOUNT,
    MAX_LINE_QUANTITY,
    LineInput,
    _money,
    _whole_number,
    may_set_prices,
    read_lines,
    shortage_reason,
)
from .notifications import notify
from .settlement import refund_against_payments, update_payment_figures
from .transitions import rewriting


@dataclass
class LineChange:
    """A line of the order as the person wants it now: `quantity` 0 removes it; a `unit_price`
    (for those who may set prices) changes its price; None keeps what it is."""

    line_id: int
    quantity: object = None
    unit_price: object = None


@dataclass
class OrderEdit:
    """What an edit did: the order, whether it was put on hold by the checks, the refunds
    requested for a total that went down, and the summary written on the timeline."""

    order: Order
    held: bool = False
    refunds: list[Refund] = field(default_factory=list)
    summary: str = ""


def _keep_or_money(value, name, errors):
    if value is None or value == "":
        return None
    return _money(value, name, errors, allow_blank=False)


@transaction.atomic
def edit_order(
    order_id: int,
    *,
    actor: Actor,
    changes: Sequence[LineChange] = (),
    add: Sequence[LineInput] = (),
    shipping_fee: object = None,
    discount: object = None,
    seen_updated_at: datetime | None = None,
) -> OrderEdit:
    """Change an order that has not reached picking: its lines' quantities (0 removes a line) and,
    for those who may set prices, their prices and the discount; new lines (`add`) are resolved as
    intake resolves them. Totals are recomputed (shipping and discount kept unless given), the
    intake checks run again (a failing check puts a confirmed order on hold with its reason), the
    reserved stock follows (what is removed released, what is added reserved; a shortage refuses
    the whole edit naming the SKU), a paid order whose total went down gets a refund requested for
    the difference, the change goes on the timeline and the customer is told.

    Locks: the order, its reserved allocations, then every stock level involved in one statement
    by primary key, then its payments (docs/architecture.md, "Lock order")."""
    ensure_actor(actor)
    require(actor, Orders.EDIT_ORDER, _("Your role may not edit orders."))
    order = lock_changeable(order_id, seen_updated_at=seen_updated_at, doing=_("edited"))
    prices_allowed = may_set_prices(actor)
    errors: dict[str, list[str]] = {}
    lines = {line.pk: line for line in order.lines.select_related("product").order_by("pk")}

    wanted = {}  # line id -> (quantity, unit price)
    for change in changes:
        line = lines.get(_whole_number(change.line_id) or 0)
        key = f"line-{change.line_id}"
        if line is None:
            errors[f"{key}.quantity"] = [
                _("This line is no longer on order %(number)s; check the order again.") % {"number": order.number}
            ]
            continue
        quantity = line.quantity
        if change.quantity not in (None, ""):
            quantity = _whole_number(change.quantity)
            if quantity is None or quantity < 0:
                errors[f"{key}.quantity"] = [_("Quantity must be a whole number, 0 to remove the line.")]
                continue
            if quantity > MAX_LINE_QUANTITY:
                errors[f"{key}.quantity"] = [
                    _("Quantity must be at most %(max)d on one line.") % {"max": MAX_LINE_QUANTITY}
                ]
                continue
        price = line.unit_price
        if change.unit_price not in (None, ""):
            given = _money(change.unit_price, f"{key}.unit_price", errors)
            if given is not None and given != line.unit_price:
                if not prices_allowed:
                    errors[f"{key}.unit_price"] = [_("Your role may not change prices.")]
                    continue
                price = given
        wanted[line.pk] = (quantity, price)

    added = []
    if add:
        # Intake's one line resolution, channel codes and bundles included; a bundle added gets the
        # order's next bundle group, and gift rules are not run again
        # (docs/architecture.md, "Bundles, gifts and channel SKUs").
        groups = [line.bundle_group for line in lines.values() if line.bundle_group]
        added = read_lines(
            list(add),
            errors,
            channel=order.channel,
            may_set_prices=prices_allowed,
            first_group=max(groups, default=0) + 1,
        )

    new_shipping = _keep_or_money(shipping_fee, "shipping_fee", errors)
    new_discount = _keep_or_money(discount, "discount", errors)
    if new_discount is not None and new_discount != order.discount and not prices_allowed:
        errors["discount"] = [_("Your role may not give discounts.")]
    if errors:
        raise ValidationError(errors)

    shipping = order.shipping_fee if new_shipping is None else new_shipping
    discount_now = order.discount if new_discount is None else new_discount
    kept = {pk: wanted.get(pk, (line.quantity, line.unit_price)) for pk, line in lines.items()}
    # A line left as it is keeps its total: a bundle component's spread share is not its rounded
    # unit price × quantity (docs/architecture.md, "Bundles, gifts and channel SKUs").
    subtotal = sum(
        (
            lines[pk].line_total
            if (quantity, price) == (lines[pk].quantity, lines[pk].unit_price)
            else quantity * price
            for pk, (quantity, price) in kept.items()
        ),
        ZERO,
    ) + sum((line.line_total for line in added), ZERO)
    if not any(quantity for quantity, _price in kept.values()) and not added:
        raise ValidationError(
            {"lines": _("An order needs at least one line; to send nothing, cancel the order instead.")}
        )
    if discount_now > subtotal + shipping:
        raise ValidationError(
            {
                "discount": _(
                    "The discount of %(discount)s is more than the lines and shipping together (%(left)s); lower it."
                )
                % {"discount": discount_now, "left": subtotal + shipping}
            }
        )
    if subtotal + shipping > MAX_AMOUNT:
        raise ValidationError(
            {"lines": _("The order comes to more than %(max)s; split it into several orders.") % {"max": MAX_AMOUNT}}
        )

    summary = []
    for pk, line in lines.items():
        quantity, price = kept[pk]
        if quantity == 0:
            summary.append(
                _("%(sku)s removed (%(quantity)s × %(price)s)")
                % {"sku": line.sku, "quantity": line.quantity, "price": line.unit_price}
            )
        elif quantity != line.quantity or price != line.unit_price:
            summary.append(
                _("%(sku)s %(before)s → %(after)s")
                % {
                    "sku": line.sku,
                    "before": f"{line.quantity} × {line.unit_price}",
                    "after": f"{quantity} × {price}",
                }
            )
    for line in added:
        summary.append(
            _("%(sku)s added (%(quantity)s × %(price)s)")
            % {"sku": line.product.sku, "quantity": line.quantity, "price": line.unit_price}
        )
    if shipping != order.shipping_fee:
        summary.append(_("shipping %(before)s → %(after)s") % {"before": order.shipping_fee, "after": shipping})
    if discount_now != order.discount:
        summary.append(_("discount %(before)s → %(after)s") % {"before": order.discount, "after": discount_now})
    if not summary:
        raise ValidationError(_("Nothing was changed."))

    written = rewriting([order.pk])
    allocations = locks.lock_reserved_allocations(order)
    reserved = bool(allocations)
    # Every stock level this edit may touch, in one statement by primary key: those reserved now,
    # and every level of the products that may be reserved more.
    more_of = {line.product_id for pk, line in lines.items() if kept[pk][0] > line.quantity}
    more_of |= {line.product.pk for line in added}
    if reserved:
        inventory_locks.lock_in_key_order(
            StockLevel.objects.filter(pk__in={a.stock_level_id for a in allocations})
            | StockLevel.objects.filter(product_id__in=more_of)
        )

    allocations_of = defaultdict(list)
    for allocation in allocations:
        allocations_of[allocation.line_id].append(allocation)
    to_release = []  # (allocation, units)
    grow = []  # (line, units)
    for pk, line in lines.items():
        quantity, price = kept[pk]
        if quantity < line.quantity:
            units = line.quantity - quantity
            for allocation in sorted(allocations_of[pk], key=lambda a: a.pk, reverse=True):
                if not units:
                    break
                take = min(units, allocation.quantity)
                to_release.append((allocation, take))
                units -= take
        elif quantity > line.quantity and reserved:
            grow.append((line, quantity - line.quantity))

    if to_release:
        inventory.release([(a.stock_level_id, units) for a, units in to_release], reference=order.number, actor=actor)
        for allocation, units in to_release:
            if units == allocation.quantity:
                allocation.state = Allocation.State.RELEASED
                allocation.save(update_fields=["state"])
            else:
                allocation.quantity -= units
                allocation.save(update_fields=["quantity"])
                Allocation.objects.create(
                    line_id=allocation.line_id,
                    stock_level_id=allocation.stock_level_id,
                    quantity=units,
                    state=Allocation.State.RELEASED,
                    ship_later=allocation.ship_later,
                )

    for pk, line in lines.items():
        quantity, price = kept[pk]
        if quantity == 0:
            # The line leaves the order with its (released) allocations; the timeline keeps what it was.
            try:
                with transaction.atomic():
                    Allocation.objects.filter(line=line).delete()
                    line.delete()
            except ProtectedError:
                # A parcel made and voided before (a moved warehouse) still names the line.
                raise ValidationError(
                    {
                        f"line-{pk}.quantity": _("%(sku)s was on a parcel once and cannot be removed; keep at least 1.")
                        % {"sku": line.sku}
                    }
                ) from None
        elif (quantity, price) != (line.quantity, line.unit_price):
            line.quantity, line.unit_price, line.line_total = quantity, price, quantity * price
            line.save(update_fields=["quantity", "unit_price", "line_total"])
    new_lines = OrderLine.objects.bulk_create(line.order_line(order) for line in added)

    if reserved:
        demands = [inventory.Demand(line.pk, line.product_id, units) for line, units in grow]
        demands += [inventory.Demand(line.pk, line.product_id, line.quantity) for line in new_lines]
        if demands:
            [(plan, shortages)] = inventory.reserve_each([(demands, order.number)], actor=actor)
            if shortages:
                all_lines = list(lines.values()) + new_lines
                raise ValidationError(
                    {
                        "lines": _("Not changed: %(shortage)s")
                        % {"shortage": checks.describe(shortage_reason(shortages, all_lines))}
                    }
                )
            Allocation.objects.bulk_create(
                Allocation(line_id=r.key, stock_level=r.stock_level, quantity=r.quantity) for r in plan
            )

    before_total = order.total
    order.subtotal = subtotal
    order.shipping_fee = shipping
    order.discount = discount_now
    order.total = subtotal + shipping - discount_now
    order.save(update_fields=["subtotal", "shipping_fee", "discount", "total", "updated_at"])
    update_payment_figures(order)
    refunds = []
    kept_paid = order.amount_paid - order.amount_refunded - order.refund_due
    if kept_paid > order.total:
        refunds = refund_against_payments(
            order.pk,
            amount=kept_paid - order.total,
            reason=_("Order %(number)s edited: its total went down from %(before)s to %(after)s.")
            % {"number": order.number, "before": before_total, "after": order.total},
            actor=actor,
        )
        order.refresh_from_db()

    held = _check_again(order, actor=actor, kept_paid=min(kept_paid, order.total))
    summary_text = (
        "; ".join(summary)
        + ". "
        + _("Total %(before)s → %(after)s.")
        % {
            "before": before_total,
            "after": order.total,
        }
    )
    record_change(order, "edit", _("Order edited: %(changes)s") % {"changes": summary_text}, actor=actor)
    written([order.pk])
    notify(order, NotificationEvent.ORDER_CHANGED)
    if held:
        notify(order, NotificationEvent.ORDER_HELD)
    return OrderEdit(order=order, held=held, refunds=refunds, summary=summary_text)


def _check_again(order: Order, *, actor: Actor, kept_paid: Decimal) -> bool:
    """The intake checks that follow from the lines and money, run on the edited order: the payment
    against the new total and the value risk rules. Reasons of the other checks (address, phone,
    repeat orders, blocklist, a held channel) stay as intake found them. A confirmed order that now
    fails is put on hold with its reasons (its stock stays reserved); a held one stays held for its
    reviewer. Returns whether the edit put the order on hold."""
    intake = IntakeSettings.current()
    customer_is_new = not Order.objects.filter(customer_id=order.customer_id, pk__lt=order.pk).exists()
    recomputed = checks.payment_checks(method=order.payment_method, total=order.total, paid=kept_paid)
    recomputed += checks.value_risks(
        total=order.total, payment_method=order.payment_method, customer_is_new=customer_is_new, intake=intake
    )
    redone = {"payment_mismatch"} | checks.VALUE_RISKS
    reasons = [r for r in order.hold_reasons if r.get("code") not in redone] + recomputed
    order.hold_reasons = reasons
    order.risk_score = checks.score_of(reasons)
    order.save(update_fields=["hold_reasons", "risk_score", "updated_at"])
    if order.status == Order.Status.CONFIRMED and checks.holds_for_review(reasons, order.risk_score, intake):
        # Within the rewrite the rollups count the difference themselves, so the step is not announced.
        # Taken as the system's step (no person is offered it), recorded with who edited.
        event = take_transition(
            order,
            order.hold_after_change,
            actor=SYSTEM,
            reason=" ".join(checks.describe(r) for r in reasons if r.get("code") in redone)
            or _("Risk score too high."),
        )
        event.actor = stored_user(actor)
        order.save()
        event.save()
        return True
    return False
