"""`place_order`: the one way an order comes in, whatever the channel."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from iso4217 import Currency

from core.actors import Actor, ensure_actor, stored_user
from core.permissions import Orders, may
from core.transitions import take_transition
from inventory import locks as inventory_locks
from inventory import services as inventory

from ..events import ORDERS_PLACED
from ..models import (
    Allocation,
    ArchivedOrder,
    Channel,
    Customer,
    IntakeSettings,
    NotificationEvent,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentMethod,
)
from . import addresses, checks, deadlines, gifts
from .catalogue import Catalogue, ResolvedLine, load_catalogue, resolve_lines
from .notifications import notify_many
from .phones import is_masked_phone, is_possible_phone, masked_customer_phone, normalize_phone
from .settlement import payment_status_for


@dataclass
class LineInput:
    sku: str
    quantity: object
    unit_price: object = None


@dataclass
class OrderInput:
    """What a channel sends. Values may arrive as text (Excel, JSON); `place_order` reads them."""

    channel: Channel
    recipient: str
    phone: str
    lines: list
    payment_method: str
    channel_order_id: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = ""
    postcode: str = ""
    shipping_fee: object = Decimal("0")
    discount: object = Decimal("0")
    paid_amount: object = Decimal("0")
    payment_reference: str = ""
    currency: str = ""
    placed_at: datetime | None = None
    delivery_window_start: datetime | None = None
    delivery_window_end: datetime | None = None
    special_instructions: str = ""
    email: str = ""
    express_requested: bool = False
    language: str = ""


@dataclass(frozen=True)
class PlacementResult:
    """The order placed, or (not `created`) the one placed before under the same channel order id:
    live, or archived (docs/architecture.md, "Archive")."""

    order: Order | ArchivedOrder
    created: bool


CENT = Decimal("0.01")
# The largest amount the money columns hold (12 digits, 2 after the point), and a line's most units.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_LINE_QUANTITY = 1_000_000


def _money(value, field_name, errors, *, allow_blank=True):
    if value in (None, "") and allow_blank:
        return Decimal("0.00")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[field_name] = [_("Enter an amount such as 12.50.")]
        return None
    if not amount.is_finite() or amount < 0:
        errors[field_name] = [_("Enter an amount of zero or more.")]
        return None
    if amount != amount.quantize(CENT):
        errors[field_name] = [_("Use at most two decimal places.")]
        return None
    if amount > MAX_AMOUNT:
        errors[field_name] = [_("Enter an amount of at most %(max)s.") % {"max": MAX_AMOUNT}]
        return None
    return amount.quantize(CENT)


# ISO 4217's list of currencies (the iso4217 package ships the maintenance agency's own table, dated
# by its version) without the codes that have no minor unit: precious metals, fund units, testing
# and "no currency", in which no order is priced.
CURRENCIES = frozenset(currency.code for currency in Currency if currency.exponent is not None)


def order_date_bounds() -> tuple[datetime, datetime]:
    """The earliest and the latest order date intake accepts now: ORDER_DATE_MAX_DAYS_BACK before
    now, and ORDER_DATE_MAX_DAYS_AHEAD after it, for a channel's clock or time zone that is ahead."""
    now = timezone.now()
    return (
        now - timedelta(days=settings.ORDER_DATE_MAX_DAYS_BACK),
        now + timedelta(days=settings.ORDER_DATE_MAX_DAYS_AHEAD),
    )


def _check_order_date(placed_at, errors):
    earliest, latest = order_date_bounds()
    shown = "{:%Y-%m-%d %H:%M}".format
    if placed_at > latest:
        errors["placed_at"] = [
            _("The order date cannot be later than %(latest)s.") % {"latest": shown(timezone.localtime(latest))}
        ]
    elif placed_at < earliest:
        errors["placed_at"] = [
            _("The order date cannot be earlier than %(earliest)s.") % {"earliest": shown(timezone.localtime(earliest))}
        ]


def _whole_number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _aware(value, field_name, errors):
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        errors[field_name] = [_("Enter a date and time.")]
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _line_quantity(errors):
    def read(value, field):
        quantity = _whole_number(value)
        if quantity is None or quantity <= 0:
            errors[field] = [_("Quantity must be a whole number greater than zero.")]
            return None
        if quantity > MAX_LINE_QUANTITY:
            errors[field] = [_("Quantity must be at most %(max)d on one line.") % {"max": MAX_LINE_QUANTITY}]
            return None
        return quantity

    return read


def read_lines(
    raw_lines: Sequence[LineInput],
    errors: dict[str, list[str]],
    *,
    channel: Channel | None,
    may_set_prices: bool,
    catalogue: Catalogue | None = None,
    first_group: int = 1,
) -> list[ResolvedLine]:
    """The lines to store for an order's LineInputs (errors keyed `lines[n].field`, n from 1): the
    one line resolution of intake, which an edit adding lines calls too. Channel codes and bundles
    are resolved by `catalogue.resolve_lines`; `catalogue` is what a batch loaded up front, or
    loaded here for these lines alone."""
    if not raw_lines:
        errors["lines"] = [_("An order needs at least one line.")]
        return []
    if catalogue is None:
        catalogue = load_catalogue((channel, line.sku) for line in raw_lines)
    return resolve_lines(
        raw_lines,
        channel=channel,
        catalogue=catalogue,
        errors=errors,
        may_set_prices=may_set_prices,
        read_quantity=_line_quantity(errors),
        read_price=lambda value, field: _money(value, field, errors),
        first_group=first_group,
        max_units=MAX_LINE_QUANTITY,
    )


def may_set_prices(actor: Actor) -> bool:
    """Channels send their own prices and discounts; staff need the permission to override them."""
    return may(actor, Orders.OVERRIDE_PRICE)


# Text stored in columns of limited width: (input field, model and its field).
LIMITED_TEXT = (
    ("recipient", Order, "recipient"),
    ("province", Order, "province"),
    ("city", Order, "city"),
    ("district", Order, "district"),
    ("address", Order, "address"),
    ("postcode", Order, "postcode"),
    ("email", Customer, "email"),
    ("payment_reference", Payment, "reference"),
)


def _check_text_lengths(data, errors):
    for name, model, field_name in LIMITED_TEXT:
        limit = model._meta.get_field(field_name).max_length
        if len((getattr(data, name) or "").strip()) > limit and name not in errors:
            errors[name] = [_("Use at most %(max)d characters.") % {"max": limit}]


def _validate(data, errors, actor, catalogue=None):
    """The order's values read and checked; `catalogue`, what the lines name, when the caller has
    loaded it already."""
    if not isinstance(data.channel, Channel):
        errors["channel"] = [_("Choose a channel.")]
    elif not data.channel.active:
        errors["channel"] = [_("Channel “%(channel)s” is not active.") % {"channel": data.channel}]
    if not (data.recipient or "").strip():
        errors["recipient"] = [_("Enter the recipient's name.")]
    _check_text_lengths(data, errors)
    if not normalize_phone(data.phone)[0]:
        errors["phone"] = [_("Enter the recipient's phone number.")]
    elif not is_possible_phone(data.phone) and not is_masked_phone(data.phone):
        errors["phone"] = [
            _("This cannot be a phone number: it has too few or too many digits, or no such country code.")
        ]
    if data.payment_method not in PaymentMethod.values:
        errors["payment_method"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(PaymentMethod.values)}]
    currency = (data.currency or settings.DEFAULT_CURRENCY).strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = [_("Enter an ISO 4217 currency code such as CNY, USD or EUR.")]
    shipping_fee = _money(data.shipping_fee, "shipping_fee", errors)
    discount = _money(data.discount, "discount", errors)
    if discount and not may_set_prices(actor):
        errors["discount"] = [_("Your role may not give discounts.")]
    paid = _money(data.paid_amount, "paid_amount", errors)
    placed_at = _aware(data.placed_at, "placed_at", errors)
    if placed_at is not None:
        _check_order_date(placed_at, errors)
    window_start = _aware(data.delivery_window_start, "delivery_window_start", errors)
    window_end = _aware(data.delivery_window_end, "delivery_window_end", errors)
    if window_start and window_end and window_end < window_start:
        errors["delivery_window_end"] = [_("The delivery window must end after it starts.")]
    language = customer_language(data.language)
    if language is None:
        errors["language"] = [
            _("Use one of: %(choices)s.") % {"choices": ", ".join(code for code, _name in settings.LANGUAGES)}
        ]
    if catalogue is None:
        catalogue = load_catalogue((data.channel, line.sku) for line in data.lines or ())
    lines = read_lines(
        data.lines, errors, channel=data.channel, may_set_prices=may_set_prices(actor), catalogue=catalogue
    )
    subtotal = gifts.goods_subtotal(lines)
    if shipping_fee is not None and discount is not None and discount > subtotal + shipping_fee:
        errors["discount"] = [_("The discount cannot be more than the lines and shipping together.")]
    if subtotal + (shipping_fee or 0) > MAX_AMOUNT:
        errors["lines"] = [
            _("The order comes to more than %(max)s; split it into several orders.") % {"max": MAX_AMOUNT}
        ]
    if errors:
        raise ValidationError(errors)
    return {
        "currency": currency,
        "shipping_fee": shipping_fee,
        "discount": discount,
        "paid": paid,
        "placed_at": placed_at or timezone.now(),
        "window_start": window_start,
        "window_end": window_end,
        "lines": lines,
        "subtotal": subtotal,
        "language": language,
        # What the channel may not take of each product (docs/architecture.md, "Stock per channel").
        "keep_back": catalogue.keep_back(data.channel, lines),
    }


def customer_language(value: str) -> str | None:
    """The shop's language code for what a channel sends ("zh-CN", "zh_Hans", "EN"), "" for none
    given, or None when the shop does not write in that language."""
    value = (value or "").strip().lower().replace("_", "-")
    if not value:
        return ""
    for code, _name in settings.LANGUAGES:
        if value == code or value.split("-")[0] == code.split("-")[0]:
            return code
    return None


def _existing(channel, channel_order_id):
    """The order placed before under this channel order id, live or archived. One statement reads
    both tables in one snapshot, so an order archived meanwhile is found in one or the other, and a
    new order (the common case) costs one query (docs/architecture.md, "Archive")."""
    found = list(
        Order.objects.filter(channel=channel, channel_order_id=channel_order_id)
        .order_by()
        .values_list("pk", Value(False, output_field=BooleanField()))
        .union(
            ArchivedOrder.objects.filter(channel=channel, channel_order_id=channel_order_id)
            .order_by()
            .values_list("pk", Value(True, output_field=BooleanField())),
            all=True,
        )[:1]
    )
    if not found:
        return None
    pk, archived = found[0]
    return (ArchivedOrder if archived else Order).objects.get(pk=pk)


def order_number(order: Order) -> str:
    """Human-friendly and never reused: the day the order was placed, then its row id."""
    return f"OC{timezone.localdate(order.placed_at):%y%m%d}-{order.pk:06d}"


MAX_CHANNEL_ORDER_ID = Order._meta.get_field("channel_order_id").max_length


def _channel_order_id(data, errors):
    channel_order_id = str(data.channel_order_id or "").strip()
    if len(channel_order_id) > MAX_CHANNEL_ORDER_ID:
        errors["channel_order_id"] = [_("Use at most %(max)d characters.") % {"max": MAX_CHANNEL_ORDER_ID}]
    return channel_order_id


def _duplicate_key(data):
    """(channel id, channel order id) that makes a re-sent order the same order, or None when the
    input names no usable one (no channel, no id, an id too long to have been stored)."""
    errors = {}
    channel_order_id = _channel_order_id(data, errors)
    if channel_order_id and isinstance(data.channel, Channel) and not errors:
        return data.channel.pk, channel_order_id
    return None


def place_order(data: OrderInput, *, actor: Actor) -> PlacementResult:
    """Take an order from any channel: validate, price, check, then confirm it with stock reserved
    or hold it for review with its reasons. Re-sending the same channel order id returns the order
    already placed instead of making a second one."""
    ensure_actor(actor)
    errors = {}
    channel_order_id = _channel_order_id(data, errors)
    if _duplicate_key(data):
        existing = _existing(data.channel, channel_order_id)
        if existing is not None:
            return PlacementResult(existing, created=False)
    valid = _validate(data, errors, actor)
    channel_order_id = channel_order_id or uuid.uuid4().hex[:20]
    try:
        with transaction.atomic():
            return PlacementResult(_create_all([(data, channel_order_id, valid)], actor)[0], created=True)
    except IntegrityError:
        existing = _existing(data.channel, channel_order_id)
        if existing is None:
            raise
        return PlacementResult(existing, created=False)


# Orders placed together per round of statements: large enough that a statement's cost is shared
# by many orders, small enough that the rows in memory stay few.
BATCH_SIZE = 500


@transaction.atomic
def place_orders(
    inputs: Sequence[OrderInput], *, actor: Actor, on_progress: Callable[[int], None] | None = None
) -> list[PlacementResult | ValidationError]:
    """Place many orders (an Excel import) with the outcome `place_order` would give each of them,
    one after the other in the given order: the same validation, checks, risk rules and
    reservations, a repeat-order count that sees the orders before it in the list, and an order
    already placed (or earlier in the list) answered instead of placed again. Answers one outcome
    per input: a PlacementResult, or the ValidationError that refused it; the others are placed all
    the same, and a caller that wants all or nothing rolls back its transaction. `on_progress` is
    told how many inputs are done after each batch."""
    ensure_actor(actor)
    catalogue = load_catalogue((data.channel, line.sku) for data in inputs for line in data.lines or ())
    rules = gifts.rules_for({data.channel.pk for data in inputs if isinstance(data.channel, Channel)})
    # Every stock row this list may reserve (gifts too) is locked now, in key order, not batch by batch.
    inventory_locks.lock_stock_of_products(
        {product.pk for product in catalogue.products.values()}
        | {product.pk for product, _per_item in catalogue.codes.values()}
        | {part.pk for parts in catalogue.components.values() for part, _quantity in parts}
        | {rule.gift_id for rule in rules}
    )
    outcomes = [None] * len(inputs)
    first_with_key = {}
    for start in range(0, len(inputs), BATCH_SIZE):
        _place_batch(
            inputs,
            range(start, min(start + BATCH_SIZE, len(inputs))),
            outcomes,
            first_with_key,
            (catalogue, rules),
            actor,
        )
        if on_progress is not None:
            on_progress(min(start + BATCH_SIZE, len(inputs)))
    return outcomes


def _place_batch(inputs, indexes, outcomes, first_with_key, looked_up, actor):
    keys = {index: key for index in indexes if (key := _duplicate_key(inputs[index]))}
    try:
        with transaction.atomic():
            _place_batch_once(inputs, indexes, keys, outcomes, first_with_key, looked_up, actor)
    except IntegrityError:
        # Someone placed one of these orders a moment ago: answer it as already placed this time.
        _place_batch_once(inputs, indexes, keys, outcomes, first_with_key, looked_up, actor)


def _place_batch_once(inputs, indexes, keys, outcomes, first_with_key, looked_up, actor):
    catalogue, rules = looked_up
    placed, first_here = {}, {}
    wanted = {key for key in keys.values() if key not in first_with_key}
    # Live orders first, then the archive, as _existing reads them.
    for model in (Order, ArchivedOrder):
        wanted -= placed.keys()
        if not wanted:
            break
        for order in model.objects.filter(
            channel_id__in={channel_id for channel_id, _id in wanted},
            channel_order_id__in={channel_order_id for _channel, channel_order_id in wanted},
        ):
            placed[order.channel_id, order.channel_order_id] = order
    to_create, same_as = [], {}
    for index in indexes:
        data, key = inputs[index], keys.get(index)
        if key in placed:
            outcomes[index] = PlacementResult(placed[key], created=False)
            continue
        if key in first_with_key or key in first_here:
            same_as[index] = first_with_key.get(key, first_here.get(key))
            continue
        errors = {}
        channel_order_id = _channel_order_id(data, errors)
        try:
            valid = _validate(data, errors, actor, catalogue=catalogue)
        except ValidationError as error:
            outcomes[index] = error
            continue
        if key is not None:
            first_here[key] = index
        to_create.append((index, (data, channel_order_id or uuid.uuid4().hex[:20], valid)))
    created = _create_all([item for _index, item in to_create], actor, rules=rules)
    for (index, _item), order in zip(to_create, created, strict=True):
        outcomes[index] = PlacementResult(order, created=True)
    first_with_key.update(first_here)
    for index, first in same_as.items():
        outcomes[index] = PlacementResult(outcomes[first].order, created=False)


def _customer_phone(phone, recipient, place):
    """The phone a customer is found again by. A masked phone (138****8000) is shared by many
    buyers, so its customer is told apart by the name and address as well."""
    if not is_masked_phone(phone):
        return phone
    return masked_customer_phone(phone, checks.address_key(recipient, place.province, place.city, place.street))


def _customers(items, phones):
    """The customer for each phone (new ones get the name and email of their first order), and the
    ids of the customers who had ordered before."""
    first_order_of = {}
    for (data, _channel_order_id, _valid), phone in zip(items, phones, strict=True):
        first_order_of.setdefault(phone, data)
    customers = {customer.phone: customer for customer in Customer.objects.filter(phone__in=first_order_of)}
    returning = (
        set(
            Order.objects.filter(customer__in=list(customers.values())).values_list("customer_id", flat=True).distinct()
        )
        if customers
        else set()
    )
    new = [
        Customer(phone=phone, name=data.recipient.strip(), email=(data.email or "").strip())
        for phone, data in first_order_of.items()
        if phone not in customers
    ]
    if new:
        # Another order may bring the same new customer at this moment: whichever is first stays.
        Customer.objects.bulk_create(new, ignore_conflicts=True)
        customers.update(
            (customer.phone, customer) for customer in Customer.objects.filter(phone__in=[c.phone for c in new])
        )
    return customers, returning


def _create_all(items, actor, *, rules=None):
    """Write the orders of `items` ((data, channel order id, validated values) each) as placing
    them one after the other would: their customers, lines and payments, then the checks and risk
    rules, stock reserved for those that pass, and each order confirmed or held with its event."""
    intake = IntakeSettings.current()
    received_at = timezone.now()
    places = [
        addresses.read_address(data.province, data.city, data.district, data.address)
        for data, _channel_order_id, _valid in items
    ]
    contacts = [normalize_phone(data.phone) for data, _channel_order_id, _valid in items]
    customer_phones = [
        _customer_phone(phone, data.recipient, place)
        for (data, _channel_order_id, _valid), (phone, _phone_valid), place in zip(items, contacts, places, strict=True)
    ]
    customers, returning = _customers(items, customer_phones)
    orders, customers_new = [], []
    for (data, channel_order_id, valid), (phone, _phone_valid), customer_phone, place in zip(
        items, contacts, customer_phones, places, strict=True
    ):
        customer = customers[customer_phone]
        customers_new.append(customer.pk not in returning)
        returning.add(customer.pk)
        subtotal = valid["subtotal"]
        orders.append(
            Order(
                channel=data.channel,
                channel_order_id=channel_order_id,
                customer=customer,
                recipient=data.recipient.strip(),
                phone=phone,
                province=place.province,
                city=place.city,
                district=place.district,
                address=place.street,
                region_code=place.region_code or None,
                postcode=(data.postcode or "").strip(),
                address_key=checks.address_key(place.province, place.city, place.district, place.street),
                delivery_window_start=valid["window_start"],
                delivery_window_end=valid["window_end"],
                special_instructions=(data.special_instructions or "").strip(),
                express_requested=bool(data.express_requested),
                language=valid["language"],
                currency=valid["currency"],
                subtotal=subtotal,
                shipping_fee=valid["shipping_fee"],
                discount=valid["discount"],
                total=subtotal + valid["shipping_fee"] - valid["discount"],
                payment_method=data.payment_method,
                amount_paid=valid["paid"],
                placed_at=valid["placed_at"],
                received_at=received_at,
                created_by=stored_user(actor),
            )
        )
    Order.objects.bulk_create(orders)
    lines_of = [
        [line.order_line(order) for line in valid["lines"]]
        for order, (_data, _channel_order_id, valid) in zip(orders, items, strict=True)
    ]
    OrderLine.objects.bulk_create([line for lines in lines_of for line in lines])
    payments = Payment.objects.bulk_create(
        Payment(
            order=order,
            method=data.payment_method,
            amount=valid["paid"],
            reference=(data.payment_reference or "").strip(),
            recorded_by=stored_user(actor),
            created_at=order.placed_at,
        )
        for order, (data, _channel_order_id, valid) in zip(orders, items, strict=True)
        if valid["paid"] > 0
    )

    held_channels = checks.held_channels(order.channel_id for order in orders)
    unreachable = checks.unreachable_regions(order.region_code for order in orders if order.region_code)
    reasons_of = []
    for order, (_phone, phone_valid), place in zip(orders, contacts, places, strict=True):
        order.payment_status = payment_status_for(order.total, order.amount_paid)
        order.number = order_number(order)
        reasons = checks.contact_checks(
            province=order.province,
            city=order.city,
            address=order.address,
            phone_valid=phone_valid,
            phone_masked=is_masked_phone(order.phone),
        )
        reasons += place.reasons
        if order.region_code in unreachable:
            reasons.append(checks.unreachable_reason(order))
        reasons += checks.payment_checks(method=order.payment_method, total=order.total, paid=order.amount_paid)
        if order.channel_id in held_channels:
            reasons.append(checks.reason("channel_held", reason=held_channels[order.channel_id]))
        reasons_of.append(reasons)
    risks = checks.risk_rules(orders=orders, customers_new=customers_new, intake=intake, now=received_at)
    for order, (score, _risk_reasons) in zip(orders, risks, strict=True):
        order.risk_score = score

    # A paid-first order not paid yet waits for its payment; the checks run again once it is paid
    # (services.waiting), and its stock is reserved meanwhile if the manager says so.
    awaiting = [
        checks.awaits_payment(method=order.payment_method, total=order.total, paid=order.amount_paid)
        for order in orders
    ]
    # A failed check always holds; risk rules hold only once their score reaches the manager's threshold.
    passing = [
        i
        for i, order in enumerate(orders)
        if not reasons_of[i]
        and order.risk_score < intake.hold_score
        and (intake.reserve_stock_awaiting_payment or not awaiting[i])
    ]
    gift_rules = gifts.rules_for({order.channel_id for order in orders}) if rules is None else rules
    offered = _gifts_offered(gift_rules, orders, items)
    if offered and rules is None:
        # Gift stock is reserved after the lines', so every stock row is locked first, in key order.
        inventory_locks.lock_stock_of_products(
            {line.product_id for lines in lines_of for line in lines} | {rule.gift_id for rule in gift_rules}
        )
    reservations = _reserve_lines_of(
        [(orders[i], lines_of[i]) for i in passing], [items[i][2]["keep_back"] for i in passing], actor=actor
    )
    reserved = set()
    for i, (_allocations, shortages, kept_back) in zip(passing, reservations, strict=True):
        if shortages:
            reasons_of[i] += shortage_reasons(shortages, kept_back, lines_of[i])
        else:
            reserved.add(i)
    notes = _add_gifts(offered, orders, reserved, actor) if offered else {}
    events = []
    for i, (order, reasons, (score, risk_reasons), waits) in enumerate(
        zip(orders, reasons_of, risks, awaiting, strict=True)
    ):
        held = bool(reasons) or score >= intake.hold_score
        # The reasons stay on the order as codes, so the timeline shows them in each reader's language.
        order.hold_reasons = reasons + risk_reasons
        step = order.await_payment if waits else order.hold if held else order.confirm
        # An order waiting for its payment starts its clock when it is paid (services.waiting).
        order.dispatch_due_at = None if waits else deadlines.dispatch_due(order.channel, received_at)
        events.append(take_transition(order, step, actor=actor, reason=notes.get(i, "")))
    _write_outcomes(orders)
    OrderEvent.objects.bulk_create(events)
    ORDERS_PLACED.publish(orders=orders, order_events=events, payments=payments)
    # A hold is told only when it waits for the customer (an address, a phone, a payment); see notify.
    # An order awaiting payment is told when it is paid and moves on.
    notify_many(
        (order, NotificationEvent.ORDER_HELD if order.is_held else NotificationEvent.ORDER_CONFIRMED)
        for order in orders
        if order.status != Order.Status.AWAITING_PAYMENT
    )
    return orders


def _gifts_offered(rules, orders, items):
    """The batch's gift ledger and (order index, rule) for each gift rule an order meets, in rule
    order; None when no order meets any."""
    if not rules:
        return None
    ledger = gifts.GiftLedger(rules)
    candidates = [
        (i, rule)
        for i, (order, (_data, _channel_order_id, valid)) in enumerate(zip(orders, items, strict=True))
        for rule in ledger.candidates(order, valid["lines"])
    ]
    return (ledger, candidates) if candidates else None


def _add_gifts(offered, orders, reserved, actor):
    """Add the gift lines the rules give: reserved at once for an order whose lines were reserved,
    read from the stock for an order held (its approval reserves them with its lines). A gift out
    of stock, or past its rule's maximum, is left out and said on the timeline; it never holds the
    order. Answers the timeline's words by order index."""
    ledger, candidates = offered
    notes, given, to_reserve = defaultdict(list), [], []
    for i, rule in candidates:
        if not ledger.within_cap(rule):
            notes[i].append(gifts.not_given_note(rule, cap=True))
        elif i in reserved:
            # Counted against the maximum now, so two orders of a batch never reserve past it.
            ledger.take_cap(rule)
            to_reserve.append((i, rule))
        elif ledger.in_stock(rule):
            given.append((i, ledger.give(rule)))
        else:
            notes[i].append(gifts.not_given_note(rule))
    outcomes = inventory.reserve_each(
        [
            ([inventory.Demand(key, rule.gift_id, rule.quantity)], orders[i].number or "")
            for key, (i, rule) in enumerate(to_reserve)
        ],
        actor=actor,
    )
    plans = []
    for (i, rule), (plan, shortages) in zip(to_reserve, outcomes, strict=True):
        if shortages:
            ledger.return_cap(rule)
            notes[i].append(gifts.not_given_note(rule))
            continue
        given.append((i, ledger.give(rule, cap_taken=True)))
        plans.append((len(given) - 1, plan))
    lines = OrderLine.objects.bulk_create([line.order_line(orders[i]) for i, line in given])
    Allocation.objects.bulk_create(
        Allocation(line_id=lines[index].pk, stock_level=r.stock_level, quantity=r.quantity)
        for index, plan in plans
        for r in plan
    )
    ledger.count_given()
    return {i: " ".join(words) for i, words in notes.items()}


# What placing decides once an order row exists (its number comes from the row's id).
OUTCOME_FIELDS = (
    "number",
    "status",
    "confirmed_at",
    "dispatch_due_at",
    "payment_status",
    "risk_score",
    "hold_reasons",
    "updated_at",
)


def _write_outcomes(orders):
    """One UPDATE per order, sent together (psycopg pipelines executemany), as inventory books stock."""
    fields = [Order._meta.get_field(name) for name in OUTCOME_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Order._meta.db_table)} SET {assignments} WHERE {quote(Order._meta.pk.column)} = %s",
            [
                [field.get_db_prep_save(field.pre_save(order, add=False), connection) for field in fields] + [order.pk]
                for order in orders
            ],
        )


def reserve_lines(order: Order, lines: Iterable[OrderLine], *, actor: Actor) -> tuple[list[Allocation], dict[int, int]]:
    """Reserve stock for every line or none, and record where it was taken from. Returns
    (allocations, shortages by product id); nothing is reserved when anything is short."""
    return reserve_lines_of([(order, lines)], actor=actor)[0]


def reserve_lines_of(
    orders_with_lines: Iterable[tuple[Order, Iterable[OrderLine]]], *, actor: Actor
) -> list[tuple[list[Allocation], dict[int, int]]]:
    """`reserve_lines` for several (order, lines) pairs, decided in turn, with one write for all."""
    return [
        (allocations, shortages)
        for allocations, shortages, _kept_back in _reserve_lines_of(orders_with_lines, None, actor=actor)
    ]


def _reserve_lines_of(orders_with_lines, keep_back, *, actor):
    """`reserve_lines_of` keeping back from each order what its channel may not take (`keep_back`:
    one {product id: KeepBack} per order, or None): (allocations, shortages, units kept back) each."""
    outcomes = inventory.reserve_each_keeping_back(
        [
            ([inventory.Demand(line.pk, line.product_id, line.quantity) for line in lines], order.number or "")
            for order, lines in orders_with_lines
        ],
        keep_back=keep_back,
        actor=actor,
    )
    allocations = Allocation.objects.bulk_create(
        Allocation(line_id=r.key, stock_level=r.stock_level, quantity=r.quantity)
        for plan, _shortages, _kept_back in outcomes
        for r in plan
    )
    allocations_of, taken = [], 0
    for plan, shortages, kept_back in outcomes:
        allocations_of.append((allocations[taken : taken + len(plan)], shortages, kept_back))
        taken += len(plan)
    return allocations_of


def _items(units_of, lines):
    sku_of = {line.product_id: line.sku for line in lines}
    return ", ".join(
        f"{sku_of.get(pid, pid)}: {units}"
        for pid, units in sorted(units_of.items(), key=lambda item: str(sku_of.get(item[0])))
    )


def shortage_reason(shortages: dict[int, int], lines: Iterable[OrderLine]) -> dict[str, Any]:
    return checks.reason("out_of_stock", items=_items(shortages, lines))


def shortage_reasons(shortages: dict[int, int], kept_back: dict[int, int], lines: list[OrderLine]) -> list[dict]:
    """Why an order could not be reserved: the units its channel's buffers kept back from it
    (docs/architecture.md, "Stock per channel"), and the units the stock itself lacks."""
    missing = {pid: units - kept_back.get(pid, 0) for pid, units in shortages.items()}
    reasons = []
    if kept_back:
        reasons.append(checks.reason("over_channel_share", items=_items(kept_back, lines)))
    if any(units > 0 for units in missing.values()):
        reasons.append(shortage_reason({pid: units for pid, units in missing.items() if units > 0}, lines))
    return reasons
