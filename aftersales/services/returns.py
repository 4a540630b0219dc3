"""Returns, exchanges and repairs: a customer sends goods of a delivered order back and gets money,
a replacement or the item repaired. Each step is one transaction: it locks the order row first
where the order's data changes (a return's quantities, a refund, a replacement, a repair parcel),
then the return row, and writes the return's event log through record_transition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.actors import SYSTEM, Actor, stored_user
from core.permissions import Aftersales, may, require
from core.transitions import TransitionRefused, ensure_allowed, number_for, record_transition
from inventory import locks as inventory_locks
from inventory import services as inventory
from inventory.models import Warehouse
from inventory.selectors import products_by_sku
from logistics import services as logistics
from orders import services as orders
from orders.models import ZERO, Order, Refund

from .. import locks
from ..models import Outcome, ReturnEvent, ReturnLine, ReturnReason, ReturnRequest
from ..selectors.returns import (
    RETURNABLE_ORDER_STATUSES,
    return_window,
    returned_quantities,
    shipped_quantities,
)

Status = ReturnRequest.Status
CENT = Decimal("0.01")
NOTE_LENGTH = ReturnLine._meta.get_field("note").max_length
INSPECTION_NOTE_LENGTH = ReturnLine._meta.get_field("inspection_note").max_length
CHANNEL_REFERENCE_LENGTH = ReturnRequest._meta.get_field("channel_reference").max_length


@dataclass(frozen=True)
class ReturnLineInput:
    """One line of the order the customer sends back, how many units and why."""

    order_line_id: int
    quantity: int
    reason: str
    note: str = ""


class ReturnAlreadyRequested(ValidationError):
    """The channel's return id names a return the channel asked for before (`existing`): the same
    request again when `existing` is of this order (`same_order`), a mistake when it is of another."""

    def __init__(self, existing, order):
        self.existing = existing
        self.same_order = existing.order_id == order.pk
        values = {"id": existing.channel_reference, "number": existing.number}
        if self.same_order:
            message = _("Channel return id %(id)s was asked for before: it is return %(number)s.") % values
        else:
            message = _("Channel return id %(id)s was used before, for return %(number)s of another order.") % values
        super().__init__({"channel_reference": [message]})


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _day(value):
    return date_format(value, "SHORT_DATE_FORMAT")


def _lines(case):
    return list(case.lines.select_related("order_line__product").order_by("pk"))


# Opening a return


@transaction.atomic
def request_return(
    order_id: int,
    *,
    lines: Sequence[ReturnLineInput],
    wanted_outcome: str,
    actor: Actor,
    customer_note: str = "",
    late_reason: str = "",
    channel_reference: str = "",
) -> ReturnRequest:
    """Open a return of a delivered order: staff in the console, or a channel (the system) through
    the API. `lines` are ReturnLineInput. The order row is locked first, so two returns of the same
    line at once can never add up to more than was shipped, and a channel's return id is asked for
    once: a return id of the order's channel used before raises ReturnAlreadyRequested."""
    require(actor, Aftersales.ADD_RETURNREQUEST, _("Your role may not open returns."))
    try:
        order = orders.lock_order(order_id)
    except Order.DoesNotExist:
        raise ValidationError({"order": _("There is no such order.")}) from None
    channel_reference = (channel_reference or "").strip()
    if channel_reference:
        # Before anything else is checked: a retry is answered with its return even when the
        # order has moved on since.
        existing = _asked_before(order, channel_reference)
        if existing is not None:
            raise ReturnAlreadyRequested(existing, order)
    if order.status not in RETURNABLE_ORDER_STATUSES:
        raise ValidationError(
            {
                "order": _(
                    "Order %(number)s is %(status)s: a return can be opened once the goods have reached the customer "
                    "(the order is delivered or completed)."
                )
                % {"number": order.number, "status": order.get_status_display()}
            }
        )

    errors = {}
    if wanted_outcome not in Outcome.values:
        errors["wanted_outcome"] = [_("Choose refund, exchange or repair.")]
    if len(channel_reference) > CHANNEL_REFERENCE_LENGTH:
        errors["channel_reference"] = [_("Use at most %(max)d characters.") % {"max": CHANNEL_REFERENCE_LENGTH}]
    checked = _check_lines(order, lines, errors)
    window = return_window(order.delivered_at)
    late_reason = (late_reason or "").strip()
    if window is not None and not window.within:
        _check_late(order, window, actor, late_reason, errors)
    if errors:
        raise ValidationError(errors)

    within = window is None or window.within
    try:
        # The order lock serialises retries of one order; the constraint catches one return id sent
        # for two orders of the channel at the same moment.
        with transaction.atomic():
            case = ReturnRequest.objects.create(
                order=order,
                wanted_outcome=wanted_outcome,
                customer_note=(customer_note or "").strip(),
                channel_reference=channel_reference,
                channel_id=order.channel_id,
                delivered_at=order.delivered_at,
                window_days=window.days if window else settings.RETURN_WINDOW_DAYS,
                within_window=within,
                window_override_reason="" if within else late_reason,
                requested_by=stored_user(actor),
            )
    except IntegrityError:
        raise ReturnAlreadyRequested(_asked_before(order, channel_reference), order) from None
    case.number = number_for(case, "RMA")
    case.save(update_fields=["number"])
    ReturnLine.objects.bulk_create(
        ReturnLine(
            return_request=case,
            order_line=line,
            quantity=item.quantity,
            reason=item.reason,
            note=(item.note or "").strip(),
        )
        for line, item in checked
    )
    # Opening is not a transition, but the log starts here: who asked, and why a late return was let in.
    ReturnEvent.objects.create(
        return_request=case,
        from_status="",
        to_status=case.status,
        transition="request",
        actor=stored_user(actor),
        reason=case.window_override_reason,
    )
    return case


def _asked_before(order, channel_reference):
    return ReturnRequest.objects.filter(channel_id=order.channel_id, channel_reference=channel_reference).first()


def _check_lines(order, lines, errors):
    """The lines as (order line, input) pairs, with every problem added to `errors` by line."""
    if not lines:
        errors["lines"] = [_("Choose at least one line to return.")]
        return []
    order_lines = {line.pk: line for line in order.lines.all()}
    shipped = shipped_quantities(order.pk)
    returned = returned_quantities(order.pk)
    checked, seen = [], set()
    for index, item in enumerate(lines):
        key = f"lines[{index}]"
        line = order_lines.get(item.order_line_id)
        if line is None:
            errors[f"{key}.order_line_id"] = [_("This line is not on order %(number)s.") % {"number": order.number}]
            continue
        if line.pk in seen:
            errors[f"{key}.order_line_id"] = [_("%(sku)s is on this return twice.") % {"sku": line.sku}]
            continue
        seen.add(line.pk)
        if item.reason not in ReturnReason.values:
            errors[f"{key}.reason"] = [_("Choose why %(sku)s comes back.") % {"sku": line.sku}]
        if len((item.note or "").strip()) > NOTE_LENGTH:
            errors[f"{key}.note"] = [_("Use at most %(max)d characters.") % {"max": NOTE_LENGTH}]
        if not _whole(item.quantity) or item.quantity < 1:
            errors[f"{key}.quantity"] = [_("Enter a whole number of at least 1.")]
            continue
        available = shipped.get(line.pk, 0) - returned.get(line.pk, 0)
        if item.quantity > available:
            errors[f"{key}.quantity"] = [
                _(
                    "At most %(available)d × %(sku)s can be returned: %(shipped)d shipped, %(returned)d already on "
                    "other returns."
                )
                % {
                    "available": max(available, 0),
                    "sku": line.sku,
                    "shipped": shipped.get(line.pk, 0),
                    "returned": returned.get(line.pk, 0),
                }
            ]
            continue
        checked.append((line, item))
    return checked


def _check_late(order, window, actor, late_reason, errors):
    values = {
        "number": order.number,
        "delivered": _day(window.delivered_on),
        "days": window.days,
        "last_day": _day(window.last_day),
        "late": window.days_late,
    }
    late = (
        ngettext(
            "Order %(number)s was delivered on %(delivered)s; its return window of %(days)d days ended on "
            "%(last_day)s, %(late)d day ago.",
            "Order %(number)s was delivered on %(delivered)s; its return window of %(days)d days ended on "
            "%(last_day)s, %(late)d days ago.",
            window.days_late,
        )
        % values
    )
    # A judgement for a person: a channel's late return (the system's) is refused like a clerk's.
    may_accept = actor is not SYSTEM and may(actor, Aftersales.ACCEPT_LATE_RETURN)
    if not may_accept:
        errors["late_reason"] = [late + " " + _("Only a manager may accept a return after the window.")]
    elif not late_reason:
        errors["late_reason"] = [late + " " + _("Give the reason for accepting it after the window.")]


# The steps of a return


@transaction.atomic
def approve_return(return_id: int, *, actor: Actor, reason: str = "") -> ReturnRequest:
    """Customer service agrees the goods may come back."""
    case = locks.lock_return(return_id)
    record_transition(case, case.approve, actor=actor, reason=reason)
    return case


@transaction.atomic
def reject_return(return_id: int, *, reason: str, actor: Actor) -> ReturnRequest:
    """Customer service turns the return down, with the reason the customer is given. The
    quantities it held are free for another return."""
    case = locks.lock_return(return_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the return is rejected; the customer is told.")})
    case.rejection_reason = reason
    record_transition(case, case.reject, actor=actor, reason=reason)
    return case


@transaction.atomic
def receive_return(return_id: int, *, warehouse_id: int, received: Mapping[int, int], actor: Actor) -> ReturnRequest:
    """The parcel arrived at a warehouse: `received` gives the units of each return line
    ({return line id: quantity}); a line left out arrived with none. Fewer than asked is fine, none
    at all is not a receipt."""
    case = locks.lock_return(return_id)
    ensure_allowed(case, case.receive, actor)
    lines = _lines(case)
    errors = {}
    warehouse = Warehouse.objects.filter(pk=warehouse_id, active=True).first()
    if warehouse is None:
        errors["warehouse"] = [_("Choose the active warehouse the goods arrived at.")]
    _check_known_lines(case, lines, received, errors)
    for index, line in enumerate(lines):
        quantity = received.get(line.pk, 0)
        if not _whole(quantity) or quantity < 0:
            errors[f"lines[{index}].received_quantity"] = [_("Enter a whole number, zero or more.")]
        elif quantity > line.quantity:
            errors[f"lines[{index}].received_quantity"] = [
                _("Only %(asked)d × %(sku)s were to come back.") % {"asked": line.quantity, "sku": line.order_line.sku}
            ]
        else:
            line.received_quantity = quantity
    if not errors and not any(line.received_quantity for line in lines):
        errors["received"] = [_("Nothing arrived? Enter the units that came back; a return with none is not received.")]
    if errors:
        raise ValidationError(errors)
    ReturnLine.objects.bulk_update(lines, ["received_quantity"])
    case.warehouse = warehouse
    record_transition(case, case.receive, actor=actor, reason=str(warehouse))
    return case


def _check_known_lines(case, lines, given, errors):
    unknown = set(given) - {line.pk for line in lines}
    if unknown:
        errors["lines"] = [
            _("Return %(number)s has no line %(lines)s.")
            % {"number": case.number, "lines": ", ".join(map(str, sorted(unknown, key=str)))}
        ]


@transaction.atomic
def inspect_return(return_id: int, *, results: Mapping[int, tuple[int, int, str]], actor: Actor) -> ReturnRequest:
    """What the warehouse found: for each return line {return line id: (resellable, damaged,
    note)}, adding up to the units received. Resellable units go back on hand and damaged ones into
    quarantine through the stock ledger, unless the customer asked for a repair (see below)."""
    case = locks.lock_return(return_id)
    ensure_allowed(case, case.inspect, actor)
    lines = _lines(case)
    errors = {}
    _check_known_lines(case, lines, results, errors)
    for index, line in enumerate(lines):
        resellable, damaged, note = results.get(line.pk, (0, 0, ""))
        key = f"lines[{index}]"
        if not _whole(resellable) or resellable < 0:
            errors[f"{key}.resellable_quantity"] = [_("Enter a whole number, zero or more.")]
        if not _whole(damaged) or damaged < 0:
            errors[f"{key}.damaged_quantity"] = [_("Enter a whole number, zero or more.")]
        note = (note or "").strip()
        if len(note) > INSPECTION_NOTE_LENGTH:
            errors[f"{key}.inspection_note"] = [_("Use at most %(max)d characters.") % {"max": INSPECTION_NOTE_LENGTH}]
        if f"{key}.resellable_quantity" in errors or f"{key}.damaged_quantity" in errors:
            continue
        if resellable + damaged != line.received_quantity:
            errors[f"{key}.damaged_quantity"] = [
                _("%(received)d × %(sku)s arrived: resellable and damaged must add up to that (now %(sum)d).")
                % {"received": line.received_quantity, "sku": line.order_line.sku, "sum": resellable + damaged}
            ]
            continue
        line.resellable_quantity, line.damaged_quantity, line.inspection_note = resellable, damaged, note
    if errors:
        raise ValidationError(errors)
    ReturnLine.objects.bulk_update(lines, ["resellable_quantity", "damaged_quantity", "inspection_note"])
    # Goods sent in for repair still belong to the customer: they are repaired and go back to them,
    # so they never become the shop's stock, on hand or in quarantine. Anything else the shop keeps
    # (it refunds or replaces it), so it is booked now, when the warehouse knows its state.
    if case.wanted_outcome != Outcome.REPAIR:
        _take_back(case, lines, actor)
    record_transition(case, case.inspect, actor=actor)
    return case


def _take_back(case, lines, actor):
    by_product = defaultdict(lambda: [0, 0])
    for line in lines:
        by_product[line.order_line.product_id][0] += line.resellable_quantity
        by_product[line.order_line.product_id][1] += line.damaged_quantity
    goods = [
        inventory.ReturnedGoods(product_id=product_id, resellable=resellable, damaged=damaged)
        for product_id, (resellable, damaged) in sorted(by_product.items())
        if resellable or damaged
    ]
    if goods:
        inventory.take_back_returned(case.warehouse, goods, reference=case.number, actor=actor)


# Resolution


@transaction.atomic
def resolve_return(
    return_id: int,
    *,
    outcome: str,
    actor: Actor,
    refund_amount: Decimal | str | None = None,
    include_shipping: bool = False,
    exchange_skus: Mapping[int, str] | None = None,
) -> ReturnRequest:
    """Settle an inspected return: a refund (requested from Finance against the order's payments),
    an exchange (a replacement order for the units received, reserving stock like any order) or
    a repair (a parcel that takes the repaired goods back). `exchange_skus` ({return line id: SKU})
    replaces a line's SKU by another size or colour."""
    order, case = locks.lock_return_with_order(return_id)
    ensure_allowed(case, case.resolve, actor)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose refund, exchange or repair.")})
    lines = _lines(case)
    received = [line for line in lines if line.received_quantity]
    exchange_skus = exchange_skus or {}
    if case.wanted_outcome == Outcome.REPAIR and outcome != Outcome.REPAIR:
        # Not repaired after all: the shop keeps the goods it refunds or replaces, so they are
        # booked now, as inspected. The warehouse did its part at inspection; this booking follows
        # the resolver's decision, so it is the system's (the ledger names the return).
        if outcome == Outcome.EXCHANGE:
            # The replacement reserves stock in this transaction too: the stock of both the goods
            # and the replacement is locked now, in key order, so neither booking waits for a row
            # with a lower key while holding one with a higher key.
            replacement_skus = {_replacement_sku(line, exchange_skus) for line in received}
            inventory_locks.lock_stock_of_products(
                {line.order_line.product_id for line in received}
                | {product.pk for product in products_by_sku(replacement_skus).values()}
            )
        _take_back(case, lines, SYSTEM)
    if outcome == Outcome.REFUND:
        _refund(order, case, received, actor, refund_amount, include_shipping)
    elif outcome == Outcome.EXCHANGE:
        _exchange(order, case, lines, exchange_skus)
    else:
        if case.wanted_outcome != Outcome.REPAIR:
            raise ValidationError(
                {
                    "outcome": _(
                        "The goods of return %(number)s went into stock at inspection, since the customer asked for "
                        "%(wanted)s: only goods sent in for repair can be repaired and sent back. Refund or exchange them."
                    )
                    % {"number": case.number, "wanted": case.get_wanted_outcome_display().lower()}
                }
            )
        # The decision is resolve_return's (its permission was checked above); the parcel is the
        # system's follow-up of it, so it is made without asking the resolver for shipping rights.
        case.repair_shipment = logistics.create_repair_shipment(
            order.pk,
            case.warehouse_id,
            [(line.order_line_id, line.received_quantity) for line in received],
            actor=SYSTEM,
        )
    case.resolution = outcome
    record_transition(case, case.resolve, actor=actor, reason=Outcome(outcome).label)
    return case


@dataclass(frozen=True)
class RefundValue:
    """What the customer paid for the units received of a return, and for the order's shipping."""

    goods: Decimal
    shipping: Decimal

    def amount(self, include_shipping):
        return self.goods + (self.shipping if include_shipping else ZERO)


def _paid_for(order_line, quantity):
    """What `quantity` units of an order line cost: its total shared by unit, so a bundle's
    component, whose total is its spread share of the bundle's price, gives back that share
    exactly when all of it comes back (docs/architecture.md, "Bundles, gifts and channel SKUs");
    a gift is free."""
    if quantity == order_line.quantity:
        return order_line.line_total
    return (order_line.line_total * quantity / order_line.quantity).quantize(CENT, ROUND_HALF_UP)


def refund_value(case: ReturnRequest, *, lines: Iterable[ReturnLine] | None = None) -> RefundValue:
    """The price paid for the units received and for the shipping: the order's discount comes off
    the goods first (their share of it, by price) and only what is left of it off the shipping."""
    order = case.order
    lines = _lines(case) if lines is None else lines
    listed = sum((_paid_for(line.order_line, line.received_quantity) for line in lines), ZERO)
    goods_discount = min(order.discount, order.subtotal)
    goods = listed
    if goods_discount:
        goods = (listed * (order.subtotal - goods_discount) / order.subtotal).quantize(CENT, ROUND_HALF_UP)
    return RefundValue(goods=goods, shipping=order.shipping_fee - (order.discount - goods_discount))


def _money(value):
    try:
        amount = Decimal(str(value).strip())
        in_cents = amount.is_finite() and amount == amount.quantize(CENT)
    except (InvalidOperation, ValueError):
        raise ValidationError({"refund_amount": _("Enter an amount such as 12.50.")}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({"refund_amount": _("Enter an amount greater than zero.")})
    if not in_cents:
        raise ValidationError({"refund_amount": _("Use at most two decimal places.")})
    return amount


def _refund(order, case, received, actor, refund_amount, include_shipping):
    """Up to what the customer paid for the units received (and the shipping, once per order):
    less is a partial refund, more is refused."""
    include_shipping = bool(include_shipping)
    values = {"number": case.number, "order": order.number, "currency": order.currency}
    if include_shipping:
        earlier = (
            ReturnRequest.objects.filter(order=order, refund_includes_shipping=True)
            .exclude(pk=case.pk)
            .values_list("number", flat=True)
            .first()
        )
        if earlier:
            raise ValidationError(
                {
                    "include_shipping": _(
                        "The shipping fee of order %(order)s was refunded with return %(earlier)s already."
                    )
                    % {**values, "earlier": earlier}
                }
            )
    full = refund_value(case, lines=received).amount(include_shipping)
    if full <= 0:
        raise ValidationError(
            {
                "outcome": _(
                    "Nothing was paid for the units received of return %(number)s, so there is nothing to refund."
                )
                % values
            }
        )
    amount = full if refund_amount in (None, "") else _money(refund_amount)
    if amount > full:
        values.update(full=full, amount=amount)
        raise ValidationError(
            {
                "refund_amount": _(
                    "At most %(full)s %(currency)s can be refunded for return %(number)s, what was paid for the units "
                    "received and the shipping; %(amount)s is more."
                )
                % values
                if include_shipping
                else _(
                    "At most %(full)s %(currency)s can be refunded for return %(number)s, what was paid for the units "
                    "received; %(amount)s is more."
                )
                % values
            }
        )
    try:
        refunds = orders.request_refund(
            order.pk,
            amount=amount,
            reason=_("Return %(number)s") % {"number": case.number},
            actor=actor,
        )
    except ValidationError as error:
        if hasattr(error, "error_dict") and "amount" in error.error_dict:
            raise ValidationError({"refund_amount": error.message_dict["amount"]}) from error
        raise
    case.refund_amount, case.refund_includes_shipping = amount, include_shipping
    case.refunds.add(*refunds)


def replacement_order_id(case: ReturnRequest) -> str:
    """The channel order id of a return's replacement: the same every time, so placing it again
    (a retry) finds the order already placed instead of making a second one."""
    return f"{case.number}-EXCHANGE"


def _replacement_sku(line, exchange_skus):
    return (exchange_skus.get(line.pk) or line.order_line.sku).strip()


def _exchange(order, case, lines, exchange_skus):
    index_of = {line.pk: index for index, line in enumerate(lines)}
    errors = {}
    _check_known_lines(case, lines, exchange_skus, errors)
    if errors:
        raise ValidationError(errors)
    sent = [line for line in lines if line.received_quantity]
    line_inputs = [
        orders.LineInput(sku=_replacement_sku(line, exchange_skus), quantity=line.received_quantity, unit_price=ZERO)
        for line in sent
    ]
    data = orders.OrderInput(
        channel=order.channel,
        channel_order_id=replacement_order_id(case),
        recipient=order.recipient,
        phone=order.phone,
        province=order.province,
        city=order.city,
        district=order.district,
        address=order.address,
        postcode=order.postcode,
        email=order.customer.email,
        language=order.language,
        currency=order.currency,
        lines=line_inputs,
        payment_method=order.payment_method,
        shipping_fee=ZERO,
        paid_amount=ZERO,
        special_instructions=_("Replacement for %(order)s (return %(number)s)")
        % {"order": order.number, "number": case.number},
    )
    try:
        # The system places it: a replacement is free of charge, which staff could not enter.
        result = orders.place_order(data, actor=SYSTEM)
    except ValidationError as error:
        raise _exchange_refusal(error, sent, index_of) from error
    case.replacement_order = result.order


def _exchange_refusal(error, sent, index_of):
    """place_order's refusal of the replacement, on the return lines it is about: its line keys
    count the replacement's lines from 1."""
    if not hasattr(error, "error_dict"):
        return ValidationError({"exchange_skus": error.messages})
    refused = defaultdict(list)
    for key, messages in error.message_dict.items():
        position = key.removeprefix("lines[").split("]", 1)[0]
        if key.startswith("lines[") and position.isdigit() and 1 <= int(position) <= len(sent):
            refused[f"lines[{index_of[sent[int(position) - 1].pk]}].exchange_sku"] += messages
        else:
            refused["exchange_skus"] += messages
    return ValidationError(dict(refused))


@transaction.atomic
def close_return(return_id: int, *, actor: Actor, reason: str = "") -> ReturnRequest:
    """Close a resolved return once its money is settled: a refund still waiting for Finance keeps
    it open, so the books never show a closed return with money owed. When to close after an
    exchange or a repair (on dispatch, on delivery) is left to staff."""
    case = locks.lock_return(return_id)
    ensure_allowed(case, case.close, actor)
    waiting = case.refunds.filter(status__in=Refund.OPEN).order_by("pk")
    if waiting.exists():
        raise TransitionRefused(
            _(
                "Return %(number)s waits for Finance: %(amount)s %(currency)s of its refund is not paid yet. "
                "Close it once its refunds are paid or have failed."
            )
            % {
                "number": case.number,
                "currency": case.order.currency,
                "amount": sum(refund.amount for refund in waiting),
            }
        )
    record_transition(case, case.close, actor=actor, reason=reason)
    return case
