"""`place_order`: the one way an order comes in, whatever the channel."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inventory import services as inventory
from inventory.selectors import products_by_sku

from ..models import Allocation, Channel, Customer, IntakeSettings, Order, OrderLine, Payment, PaymentMethod
from . import checks
from .events import record_transition
from .phones import normalize_phone


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


@dataclass(frozen=True)
class PlacementResult:
    order: Order
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


def _read_lines(raw_lines, errors, *, may_set_prices):
    if not raw_lines:
        errors["lines"] = [_("An order needs at least one line.")]
        return []
    products = products_by_sku(str(line.sku).strip() for line in raw_lines)
    lines = []
    for index, raw in enumerate(raw_lines, start=1):
        sku = str(raw.sku or "").strip()
        product = products.get(sku)
        if not sku:
            errors[f"lines[{index}].sku"] = [_("Enter a SKU.")]
        elif product is None:
            errors[f"lines[{index}].sku"] = [_("Unknown SKU “%(sku)s”.") % {"sku": sku}]
        elif not product.active:
            errors[f"lines[{index}].sku"] = [_("SKU “%(sku)s” is no longer sold.") % {"sku": sku}]
        quantity = _whole_number(raw.quantity)
        if quantity is None or quantity <= 0:
            errors[f"lines[{index}].quantity"] = [_("Quantity must be a whole number greater than zero.")]
            quantity = None
        elif quantity > MAX_LINE_QUANTITY:
            errors[f"lines[{index}].quantity"] = [
                _("Quantity must be at most %(max)d on one line.") % {"max": MAX_LINE_QUANTITY}
            ]
            quantity = None
        price = None
        if raw.unit_price not in (None, "") and not may_set_prices:
            errors[f"lines[{index}].unit_price"] = [
                _("Your role may not set prices; leave the price empty to use the catalogue price.")
            ]
        elif raw.unit_price not in (None, ""):
            price = _money(raw.unit_price, f"lines[{index}].unit_price", errors)
        elif product is not None:
            price = product.unit_price
        if product is not None and product.active and quantity and price is not None:
            lines.append((product, quantity, price))
    return lines


def may_set_prices(actor):
    """Channels send their own prices and discounts; staff need the permission to override them."""
    return actor is None or actor.has_perm("orders.override_price")


def _validate(data, errors, actor):
    if not isinstance(data.channel, Channel):
        errors["channel"] = [_("Choose a channel.")]
    elif not data.channel.active:
        errors["channel"] = [_("Channel “%(channel)s” is not active.") % {"channel": data.channel}]
    if not (data.recipient or "").strip():
        errors["recipient"] = [_("Enter the recipient's name.")]
    if not normalize_phone(data.phone)[0]:
        errors["phone"] = [_("Enter the recipient's phone number.")]
    if data.payment_method not in PaymentMethod.values:
        errors["payment_method"] = [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(PaymentMethod.values)}
        ]
    currency = (data.currency or settings.DEFAULT_CURRENCY).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = [_("Enter a three-letter currency code such as CNY.")]
    shipping_fee = _money(data.shipping_fee, "shipping_fee", errors)
    discount = _money(data.discount, "discount", errors)
    if discount and not may_set_prices(actor):
        errors["discount"] = [_("Your role may not give discounts.")]
    paid = _money(data.paid_amount, "paid_amount", errors)
    placed_at = _aware(data.placed_at, "placed_at", errors)
    window_start = _aware(data.delivery_window_start, "delivery_window_start", errors)
    window_end = _aware(data.delivery_window_end, "delivery_window_end", errors)
    if window_start and window_end and window_end < window_start:
        errors["delivery_window_end"] = [_("The delivery window must end after it starts.")]
    lines = _read_lines(data.lines, errors, may_set_prices=may_set_prices(actor))
    subtotal = sum((quantity * price for _p, quantity, price in lines), Decimal("0.00"))
    if shipping_fee is not None and discount is not None and discount > subtotal + shipping_fee:
        errors["discount"] = [_("The discount cannot be more than the lines and shipping together.")]
    if subtotal + (shipping_fee or 0) > MAX_AMOUNT:
        errors["lines"] = [_("The order comes to more than %(max)s; split it into several orders.") % {"max": MAX_AMOUNT}]
    if errors:
        raise ValidationError(errors)
    return {
        "currency": currency, "shipping_fee": shipping_fee, "discount": discount, "paid": paid,
        "placed_at": placed_at or timezone.now(), "window_start": window_start, "window_end": window_end,
        "lines": lines, "subtotal": subtotal,
    }


def _existing(channel, channel_order_id):
    try:
        return Order.objects.get(channel=channel, channel_order_id=channel_order_id)
    except Order.DoesNotExist:
        return None


def order_number(order):
    """Human-friendly and never reused: the day the order was placed, then its row id."""
    return f"OC{timezone.localdate(order.placed_at):%y%m%d}-{order.pk:06d}"


def place_order(data, *, actor=None):
    """Take an order from any channel: validate, price, check, then confirm it with stock reserved
    or hold it for review with its reasons. Re-sending the same channel order id returns the order
    already placed instead of making a second one."""
    channel_order_id = str(data.channel_order_id or "").strip()
    errors = {}
    if len(channel_order_id) > 64:
        errors["channel_order_id"] = [_("Use at most 64 characters.")]
    if channel_order_id and isinstance(data.channel, Channel) and not errors:
        existing = _existing(data.channel, channel_order_id)
        if existing is not None:
            return PlacementResult(existing, created=False)
    valid = _validate(data, errors, actor)
    channel_order_id = channel_order_id or uuid.uuid4().hex[:20]
    try:
        with transaction.atomic():
            return PlacementResult(_create(data, channel_order_id, valid, actor), created=True)
    except IntegrityError:
        existing = _existing(data.channel, channel_order_id)
        if existing is None:
            raise
        return PlacementResult(existing, created=False)


def _create(data, channel_order_id, valid, actor):
    intake = IntakeSettings.current()
    phone, phone_valid = normalize_phone(data.phone)
    customer, created = Customer.objects.get_or_create(
        phone=phone, defaults={"name": data.recipient.strip(), "email": (data.email or "").strip()}
    )
    customer_is_new = created or not customer.orders.exists()
    subtotal = valid["subtotal"]
    order = Order(
        channel=data.channel, channel_order_id=channel_order_id, customer=customer,
        recipient=data.recipient.strip(), phone=phone,
        province=(data.province or "").strip(), city=(data.city or "").strip(),
        district=(data.district or "").strip(), address=(data.address or "").strip(),
        postcode=(data.postcode or "").strip(),
        address_key=checks.address_key(data.province, data.city, data.district, data.address),
        delivery_window_start=valid["window_start"], delivery_window_end=valid["window_end"],
        special_instructions=(data.special_instructions or "").strip(),
        currency=valid["currency"], subtotal=subtotal, shipping_fee=valid["shipping_fee"],
        discount=valid["discount"], total=subtotal + valid["shipping_fee"] - valid["discount"],
        payment_method=data.payment_method, amount_paid=valid["paid"],
        placed_at=valid["placed_at"], created_by=actor,
    )
    order.save()
    lines = OrderLine.objects.bulk_create(
        OrderLine(order=order, product=product, sku=product.sku, name=product.name, quantity=quantity,
                  unit_price=price, line_total=quantity * price)
        for product, quantity, price in valid["lines"]
    )
    if valid["paid"] > 0:
        Payment.objects.create(
            order=order, method=data.payment_method, amount=valid["paid"],
            reference=(data.payment_reference or "").strip(), recorded_by=actor, created_at=order.placed_at,
        )
    order.payment_status = payment_status_for(order.total, order.amount_paid)

    reasons = checks.contact_checks(
        province=order.province, city=order.city, address=order.address, phone_valid=phone_valid,
    )
    reasons += checks.payment_checks(method=order.payment_method, total=order.total, paid=order.amount_paid)
    score, risk_reasons = checks.risk_rules(order=order, customer_is_new=customer_is_new, intake=intake,
                                            now=timezone.now())
    order.risk_score = score

    order.number = order_number(order)
    # A failed check always holds; risk rules hold only once their score reaches the manager's threshold.
    if not reasons and score < intake.hold_score:
        _allocations, shortages = reserve_lines(order, lines, actor=actor)
        if shortages:
            reasons.append(shortage_reason(shortages, lines))
    held = bool(reasons) or score >= intake.hold_score
    reasons += risk_reasons
    order.hold_reasons = reasons
    if held:
        # The reasons stay on the order as codes, so the timeline shows them in each reader's language.
        record_transition(order, order.hold, actor=actor)
    else:
        record_transition(order, order.confirm, actor=actor)
    return order


def payment_status_for(total, paid):
    if paid <= 0:
        return Order.PaymentStatus.UNPAID
    if paid < total:
        return Order.PaymentStatus.PARTIALLY_PAID
    return Order.PaymentStatus.PAID


def reserve_lines(order, lines, *, actor=None):
    """Reserve stock for every line or none, and record where it was taken from. Returns
    (allocations, shortages by product id); nothing is reserved when anything is short."""
    plan, shortages = inventory.reserve(
        [inventory.Demand(line.pk, line.product_id, line.quantity) for line in lines],
        reference=order.number or "", actor=actor,
    )
    allocations = Allocation.objects.bulk_create(
        Allocation(line_id=r.key, stock_level=r.stock_level, quantity=r.quantity) for r in plan
    )
    return allocations, shortages


def shortage_reason(shortages, lines):
    sku_of = {line.product_id: line.sku for line in lines}
    items = ", ".join(
        f"{sku_of.get(pid, pid)}: {missing}"
        for pid, missing in sorted(shortages.items(), key=lambda item: str(sku_of.get(item[0])))
    )
    return checks.reason("out_of_stock", items=items)
