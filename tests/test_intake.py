"""place_order: validation that names each bad field, idempotent intake, pricing, the automatic
checks and the risk rules, and what each outcome does to stock and the event log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from core.actors import SYSTEM
from inventory.models import StockMovement
from inventory.selectors import ledger_mismatches
from orders import services as orders
from orders.models import (
    Allocation,
    BlockedContact,
    Channel,
    Customer,
    IntakeSettings,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
)
from orders.services.checks import address_key, describe
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, order_input, place, staff, stock

pytestmark = pytest.mark.django_db

HELD, CONFIRMED = Order.Status.ON_HOLD, Order.Status.CONFIRMED


@pytest.fixture
def product():
    """A 25.00 product with 100 units in stock."""
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 100)
    return item


def priced(amount, quantity=100):
    item = ProductFactory(unit_price=Decimal(amount))
    stock(item, WarehouseFactory(), quantity)
    return item


def codes(order):
    return [reason["code"] for reason in order.hold_reasons]


def reserved_units():
    return sum(Allocation.objects.filter(state=Allocation.State.RESERVED).values_list("quantity", flat=True))


def written_rows():
    return {
        model.__name__: model.objects.count()
        for model in (Order, OrderLine, Customer, Payment, OrderEvent, Allocation, StockMovement)
    }


def existing_customer(phone="13800138000", **overrides):
    """A customer who ordered before, a day and a half ago (outside the default 24-hour window)."""
    item = priced("10.00")
    earlier = timezone.now() - timedelta(hours=36)
    order = place(lines=[(item, 1)], phone=phone, **overrides)
    Order.objects.filter(pk=order.pk).update(placed_at=earlier, received_at=earlier)
    return order.customer


# --- a clean order -----------------------------------------------------------------------------


def test_clean_order_is_confirmed_with_its_stock_reserved(product):
    result = orders.place_order(order_input(lines=[(product, 2)]), actor=SYSTEM)

    order = result.order
    assert result.created is True
    assert order.status == CONFIRMED
    assert order.confirmed_at is not None
    assert order.hold_reasons == []
    assert order.number.startswith("OC")
    allocation = Allocation.objects.get(line__order=order)
    assert (allocation.quantity, allocation.state) == (2, Allocation.State.RESERVED)
    level = allocation.stock_level
    assert (level.on_hand, level.reserved) == (100, 2)
    assert list(ledger_mismatches()) == []


def test_placement_writes_pending_to_confirmed_event_with_the_actor(product):
    clerk = staff("Customer service")

    order = place(lines=[(product, 1)], actor=clerk)

    event = order.events.get()
    assert (event.from_status, event.to_status, event.transition, event.actor) == (
        Order.Status.PENDING,
        CONFIRMED,
        "confirm",
        clerk,
    )
    assert order.created_by == clerk


def test_held_placement_writes_pending_to_on_hold_event_with_the_actor_and_the_reasons_on_the_order(product):
    clerk = staff("Customer service")

    order = place(lines=[(product, 1)], city="", district="", actor=clerk)

    event = order.events.get()
    assert (event.from_status, event.to_status, event.transition, event.actor) == (
        Order.Status.PENDING,
        HELD,
        "hold",
        clerk,
    )
    assert "city" in describe(order.hold_reasons[0])


# --- idempotency -------------------------------------------------------------------------------


def test_resending_the_same_channel_order_id_returns_the_first_order_without_reserving_again(product):
    data = order_input(lines=[(product, 2)], channel_order_id="WEB-1001")
    first = orders.place_order(data, actor=SYSTEM)
    rows = written_rows()

    again = orders.place_order(order_input(lines=[(product, 5)], channel_order_id="WEB-1001"), actor=SYSTEM)

    assert (first.created, again.created) == (True, False)
    assert again.order.pk == first.order.pk
    assert written_rows() == rows
    assert reserved_units() == 2


def test_channel_order_id_is_read_without_surrounding_spaces(product):
    first = orders.place_order(order_input(lines=[(product, 1)], channel_order_id="WEB-7"), actor=SYSTEM)

    again = orders.place_order(order_input(lines=[(product, 1)], channel_order_id="  WEB-7 "), actor=SYSTEM)

    assert (again.created, again.order.pk) == (False, first.order.pk)


def test_the_same_channel_order_id_on_another_channel_is_a_new_order(product):
    app = ChannelFactory(code="app", name="App", kind=Channel.Kind.APP)
    first = orders.place_order(order_input(lines=[(product, 1)], channel_order_id="1001"), actor=SYSTEM)

    other = orders.place_order(order_input(app, lines=[(product, 1)], channel_order_id="1001"), actor=SYSTEM)

    assert other.created is True
    assert other.order.pk != first.order.pk
    assert other.order.channel == app
    assert reserved_units() == 2


def test_orders_without_a_channel_order_id_are_never_merged(product):
    first = place(lines=[(product, 1)], channel_order_id="")
    second = place(lines=[(product, 1)], channel_order_id="")

    assert first.pk != second.pk
    assert first.channel_order_id and second.channel_order_id
    assert first.channel_order_id != second.channel_order_id


# --- validation --------------------------------------------------------------------------------


def bad_line(quantity):
    def lines(product):
        return [orders.LineInput(sku=product.sku, quantity=quantity)]

    return lines


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipient": ""}, "recipient"),
        ({"recipient": "   "}, "recipient"),
        ({"phone": ""}, "phone"),
        (
            {"lines": lambda product: [orders.LineInput(product.sku, 1), orders.LineInput("NO-SUCH-SKU", 1)]},
            "lines[2].sku",
        ),
        ({"lines": lambda product: [orders.LineInput("", 1)]}, "lines[1].sku"),
        ({"lines": bad_line(0)}, "lines[1].quantity"),
        ({"lines": bad_line(-2)}, "lines[1].quantity"),
        ({"lines": bad_line(1.5)}, "lines[1].quantity"),
        ({"lines": bad_line("1.5")}, "lines[1].quantity"),
        ({"lines": bad_line("abc")}, "lines[1].quantity"),
        ({"lines": bad_line(None)}, "lines[1].quantity"),
        ({"lines": lambda product: [orders.LineInput(product.sku, 1, unit_price="-1")]}, "lines[1].unit_price"),
        ({"lines": lambda product: []}, "lines"),
        ({"payment_method": "bitcoin"}, "payment_method"),
        ({"shipping_fee": "-5"}, "shipping_fee"),
        ({"shipping_fee": Decimal("-0.01")}, "shipping_fee"),
        ({"shipping_fee": "12.5 yuan"}, "shipping_fee"),
        ({"shipping_fee": "12.345"}, "shipping_fee"),
        ({"discount": "abc"}, "discount"),
        ({"discount": "60.01"}, "discount"),
        ({"paid_amount": "ten"}, "paid_amount"),
        ({"currency": "yuan"}, "currency"),
        ({"placed_at": "yesterday"}, "placed_at"),
        (
            {
                "delivery_window_start": timezone.now() + timedelta(days=2),
                "delivery_window_end": timezone.now() + timedelta(days=1),
            },
            "delivery_window_end",
        ),
        ({"channel_order_id": "x" * 65}, "channel_order_id"),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_writes_nothing(product, overrides, field):
    overrides = {"shipping_fee": "10.00", **overrides}
    lines = overrides.pop("lines", None)
    data = order_input(lines=[(product, 2)], **overrides)
    if lines is not None:
        data.lines = lines(product)
    rows = written_rows()

    with pytest.raises(ValidationError) as refused:
        orders.place_order(data, actor=SYSTEM)

    assert field in refused.value.message_dict
    assert written_rows() == rows


def test_every_bad_field_is_reported_at_once(product):
    data = order_input(
        lines=[(product, 0), ("NO-SUCH-SKU", 1)],
        recipient="",
        payment_method="cheque",
        shipping_fee="-1",
    )

    with pytest.raises(ValidationError) as refused:
        orders.place_order(data, actor=SYSTEM)

    assert set(refused.value.message_dict) == {
        "recipient",
        "payment_method",
        "shipping_fee",
        "lines[1].quantity",
        "lines[2].sku",
    }


def test_an_inactive_channel_or_product_is_refused(product):
    retired = ProductFactory(active=False)
    closed = ChannelFactory(code="closed", name="Closed shop", active=False)

    with pytest.raises(ValidationError) as refused:
        orders.place_order(order_input(closed, lines=[(product, 1), (retired, 1)]), actor=SYSTEM)

    assert {"channel", "lines[2].sku"} <= set(refused.value.message_dict)
    assert Order.objects.count() == 0


def test_the_unknown_sku_is_named_in_its_message(product):
    with pytest.raises(ValidationError) as refused:
        orders.place_order(order_input(lines=[(product, 1), ("NO-SUCH-SKU", 1)]), actor=SYSTEM)

    assert "NO-SUCH-SKU" in refused.value.message_dict["lines[2].sku"][0]


# --- prices and totals -------------------------------------------------------------------------


def test_lines_are_priced_from_the_product_when_no_price_is_given():
    product = priced("19.90")

    order = place(lines=[(product, 3)])

    line = order.lines.get()
    assert (line.sku, line.name, line.unit_price, line.line_total) == (
        product.sku,
        product.name,
        Decimal("19.90"),
        Decimal("59.70"),
    )


def test_a_price_the_channel_sends_is_used_as_sold():
    product = priced("19.90")

    data = order_input(lines=[])
    data.lines = [orders.LineInput(product.sku, "2", unit_price="15.5")]

    order = orders.place_order(data, actor=SYSTEM).order

    line = order.lines.get()
    assert (line.quantity, line.unit_price, line.line_total) == (2, Decimal("15.50"), Decimal("31.00"))


def test_total_is_lines_plus_shipping_minus_discount():
    shirt, socks = priced("99.00"), priced("12.50")

    order = place(lines=[(shirt, 2), (socks, 4)], shipping_fee="15", discount="10")

    assert order.subtotal == Decimal("248.00")
    assert (order.shipping_fee, order.discount) == (Decimal("15.00"), Decimal("10.00"))
    assert order.total == Decimal("253.00")
    order.refresh_from_db()
    assert order.total == Decimal("253.00")


def test_amounts_written_with_thousands_separators_are_read():
    product = priced("1000.00")

    order = place(lines=[(product, 1)], shipping_fee="1,000.00")

    assert order.shipping_fee == Decimal("1000.00")
    assert order.total == Decimal("2000.00")


def test_discount_equal_to_the_whole_order_is_allowed():
    product = priced("20.00")

    order = place(lines=[(product, 1)], shipping_fee="5", discount="25")

    assert order.total == Decimal("0.00")


def test_a_card_order_paid_in_full_is_confirmed_as_paid(product):
    order = place(lines=[(product, 2)], payment_method="card", paid_amount="50.00", payment_reference="TX-9")

    assert order.status == CONFIRMED
    assert (order.payment_status, order.amount_paid) == (Order.PaymentStatus.PAID, Decimal("50.00"))
    payment = order.payments.get()
    assert (payment.method, payment.amount, payment.reference) == ("card", Decimal("50.00"), "TX-9")


# --- phone numbers and customers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "１３８００１３８０００",
        "+８６ １３８-００１３-８０００",
    ],
)
def test_a_phone_number_written_differently_finds_the_same_customer(product, written):
    first = place(lines=[(product, 1)], phone="13800138000")

    second = place(lines=[(product, 1)], phone=written)

    assert second.customer == first.customer
    assert Customer.objects.count() == 1
    assert (first.customer.phone, second.phone) == ("+8613800138000", "+8613800138000")
    assert "phone_invalid" not in codes(second)


def test_an_international_phone_number_is_valid(product):
    order = place(lines=[(product, 1)], phone="+1 415-555-2671")

    assert order.status == CONFIRMED
    assert order.phone == "+14155552671"


def test_a_new_customer_is_remembered_with_name_and_email(product):
    order = place(lines=[(product, 1)], recipient=" 李雷 ", email="lilei@example.com")

    customer = Customer.objects.get()
    assert (customer.name, customer.email, customer.phone) == ("李雷", "lilei@example.com", "+8613800138000")
    assert order.recipient == "李雷"


# --- automatic checks: each one holds the order with its reason --------------------------------


@pytest.mark.parametrize(
    ("blank", "label"),
    [
        # A province or city left out is found from the level below when that is unique, so both go.
        (("province", "city", "district"), "province"),
        (("city", "district"), "city"),
        (("address",), "street address"),
    ],
)
def test_an_incomplete_address_holds_the_order_naming_what_is_missing(product, blank, label):
    order = place(lines=[(product, 1)], **dict.fromkeys(blank, "  "))

    assert order.status == HELD
    assert codes(order) == ["address_incomplete"]
    assert label in describe(order.hold_reasons[0])


@pytest.mark.parametrize("phone", ["23800138000", "1380013800", "138-abc-0013"])
def test_a_phone_number_that_could_be_one_but_is_not_valid_holds_the_order_without_repeating_it(product, phone):
    order = place(lines=[(product, 1)], phone=phone)

    assert order.status == HELD
    assert codes(order) == ["phone_invalid"]
    assert "not a valid number" in describe(order.hold_reasons[0])
    assert "238" not in describe(order.hold_reasons[0]) and "138" not in describe(order.hold_reasons[0])


@pytest.mark.parametrize("phone", ["12345", "10086", "+999 123", "1380013800123456"])
def test_a_phone_that_cannot_be_a_phone_number_at_all_is_refused_naming_the_field(product, phone):
    with pytest.raises(ValidationError) as refused:
        place(lines=[(product, 1)], phone=phone)

    assert "cannot be a phone number" in refused.value.message_dict["phone"][0]
    assert phone not in refused.value.message_dict["phone"][0]
    assert not Order.objects.exists()


def test_a_phone_without_any_digit_is_refused_naming_the_field(product):
    with pytest.raises(ValidationError) as refused:
        place(lines=[(product, 1)], phone="call the front desk")

    assert list(refused.value.message_dict) == ["phone"]
    assert not Order.objects.exists()


def test_a_card_order_paid_less_than_its_total_is_held_for_the_payment_mismatch(product):
    order = place(lines=[(product, 2)], payment_method="card", paid_amount="30.00")

    assert order.status == HELD
    assert codes(order) == ["payment_mismatch"]
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_PAID
    text = describe(order.hold_reasons[0])
    assert "30.00" in text and "50.00" in text


def test_a_prepaid_order_paid_nothing_awaits_its_payment_instead_of_review(product):
    order = place(lines=[(product, 2)], payment_method="e_wallet")

    assert order.status == Order.Status.AWAITING_PAYMENT
    assert codes(order) == []


def test_a_prepaid_order_paid_in_part_is_held_for_the_payment_mismatch(product):
    order = place(lines=[(product, 2)], payment_method="e_wallet", paid_amount="10.00")

    assert order.status == HELD
    assert codes(order) == ["payment_mismatch"]


def test_cash_on_delivery_needs_no_payment_up_front(product):
    order = place(lines=[(product, 2)], payment_method="cod")

    assert order.status == CONFIRMED
    assert order.payment_status == Order.PaymentStatus.UNPAID


def test_cash_on_delivery_over_the_limit_holds_the_order():
    existing_customer()
    costly = priced("3500.00")

    order = place(lines=[(costly, 1)], payment_method="cod")

    assert order.status == HELD
    assert codes(order) == ["cod_over_limit"]
    assert order.risk_score >= IntakeSettings.current().hold_score
    assert "3000.00" in describe(order.hold_reasons[0])


def test_out_of_stock_holds_the_order_and_reserves_nothing():
    warehouse = WarehouseFactory()
    plenty, scarce = ProductFactory(), ProductFactory()
    plenty_level, scarce_level = stock(plenty, warehouse, 10), stock(scarce, warehouse, 1)

    order = place(lines=[(plenty, 2), (scarce, 3)])

    assert order.status == HELD
    assert codes(order) == ["out_of_stock"]
    assert f"{scarce.sku}: 2" in describe(order.hold_reasons[0])
    assert plenty.sku not in describe(order.hold_reasons[0])
    assert not Allocation.objects.exists()
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.RESERVATION).exists()
    for level in (plenty_level, scarce_level):
        level.refresh_from_db()
        assert level.reserved == 0
    assert list(ledger_mismatches()) == []


def test_an_order_held_for_a_check_reserves_no_stock(product):
    order = place(lines=[(product, 2)], city="", district="")

    assert order.status == HELD
    assert not Allocation.objects.filter(line__order=order).exists()
    assert product.stock_levels.get().reserved == 0


def test_every_failed_check_is_listed(product):
    order = place(
        lines=[(product, 2)], city="", district="", phone="23800138000", payment_method="card", paid_amount="1"
    )

    assert order.status == HELD
    assert set(codes(order)) == {"address_incomplete", "phone_invalid", "payment_mismatch"}


# --- risk rules: each adds its points and reason; the score at the manager's threshold holds ---


def test_a_high_value_order_of_a_known_customer_is_flagged_but_below_the_hold_score():
    existing_customer()
    costly = priced("6000.00")

    order = place(lines=[(costly, 1)], payment_method="card", paid_amount="6000.00")

    assert codes(order) == ["high_value"]
    assert 0 < order.risk_score < IntakeSettings.current().hold_score
    assert order.status == CONFIRMED


def test_a_high_value_order_is_held_when_its_score_reaches_the_hold_score():
    existing_customer()
    IntakeSettings.objects.filter(pk=IntakeSettings.current().pk).update(hold_score=40)
    costly = priced("6000.00")

    order = place(lines=[(costly, 1)], payment_method="card", paid_amount="6000.00")

    assert order.status == HELD
    assert codes(order) == ["high_value"]
    assert not Allocation.objects.filter(line__order=order).exists()


def test_a_new_customer_with_a_high_value_order_is_held():
    costly = priced("6000.00")

    order = place(lines=[(costly, 1)], payment_method="card", paid_amount="6000.00")

    assert order.status == HELD
    assert set(codes(order)) == {"high_value", "new_customer_high_value"}
    assert order.risk_score >= IntakeSettings.current().hold_score


def test_a_new_customer_over_the_new_customer_threshold_is_flagged():
    dearer = priced("2500.00")

    order = place(lines=[(dearer, 1)], payment_method="card", paid_amount="2500.00")

    assert codes(order) == ["new_customer_high_value"]
    assert order.risk_score > 0


def test_a_known_customer_is_not_new_for_the_new_customer_rule():
    existing_customer()
    dearer = priced("2500.00")

    order = place(lines=[(dearer, 1)], payment_method="card", paid_amount="2500.00")

    assert codes(order) == []
    assert order.risk_score == 0


def test_repeat_orders_to_one_phone_within_the_window_are_flagged(product):
    for number in range(3):
        place(lines=[(product, 1)], address=f"文三路 {number} 号")

    order = place(lines=[(product, 1)], address="文三路 99 号")

    assert codes(order) == ["repeat_phone"]
    assert "4 orders" in describe(order.hold_reasons[0])


def test_repeat_orders_to_one_address_within_the_window_are_flagged(product):
    for number in range(3):
        place(lines=[(product, 1)], phone=f"1390000000{number}")

    order = place(lines=[(product, 1)], phone="13900000099")

    assert codes(order) == ["repeat_address"]


def test_repeat_orders_to_one_address_written_differently_are_counted_together(product):
    for number, street in enumerate(["文三路 90 号", "文三路90号", "文三路９０号"]):
        place(lines=[(product, 1)], phone=f"1390000000{number}", address=street)

    order = place(lines=[(product, 1)], phone="13900000099", address=" 文三路 90号 ")

    assert codes(order) == ["repeat_address"]
    assert order.address_key == "浙江省/杭州市/西湖区/文三路90号"


def test_repeat_orders_to_one_phone_and_address_are_held(product):
    for _number in range(3):
        place(lines=[(product, 1)])

    order = place(lines=[(product, 1)])

    assert order.status == HELD
    assert set(codes(order)) == {"repeat_phone", "repeat_address"}


def arrived_long_ago(order, moment):
    """As if the order had been placed and taken in at `moment`."""
    Order.objects.filter(pk=order.pk).update(placed_at=moment, received_at=moment)


def test_orders_outside_the_repeat_window_do_not_count(product):
    long_ago = timezone.now() - timedelta(hours=25)
    for _number in range(3):
        arrived_long_ago(place(lines=[(product, 1)]), long_ago)

    order = place(lines=[(product, 1)])

    assert order.status == CONFIRMED
    assert codes(order) == []


def test_a_blocklisted_phone_holds_the_order_however_the_number_is_written(product):
    BlockedContact.objects.create(kind=BlockedContact.Kind.PHONE, value="+8613800138000", reason="chargebacks")

    order = place(lines=[(product, 1)], phone="+86 138-0013-8000")

    assert order.status == HELD
    assert codes(order) == ["blocked_phone"]
    assert "chargebacks" in describe(order.hold_reasons[0])


def test_a_blocklisted_address_holds_the_order(product):
    BlockedContact.objects.create(
        kind=BlockedContact.Kind.ADDRESS,
        value=address_key("浙江省", "杭州市", "西湖区", "Wensan Road 90"),
        reason="parcel fraud",
    )

    order = place(lines=[(product, 1)], province=" 浙江省", city="杭州市 ", district="西湖区", address="WENSAN ROAD 90")

    assert order.status == HELD
    assert codes(order) == ["blocked_address"]
    assert "parcel fraud" in describe(order.hold_reasons[0])


def test_a_blocklisted_contact_does_not_touch_other_orders(product):
    BlockedContact.objects.create(kind=BlockedContact.Kind.PHONE, value="+8613900000001", reason="fraud")

    order = place(lines=[(product, 1)])

    assert order.status == CONFIRMED


# --- the thresholds are the manager's settings -------------------------------------------------


def change_settings(**values):
    IntakeSettings.objects.filter(pk=IntakeSettings.current().pk).update(**values)


def test_raising_the_cod_limit_lets_a_large_cod_order_through():
    existing_customer()
    costly = priced("3500.00")
    change_settings(cod_limit=Decimal("4000.00"))

    order = place(lines=[(costly, 1)], payment_method="cod")

    assert order.status == CONFIRMED
    assert codes(order) == []


def test_lowering_the_cod_limit_holds_a_smaller_cod_order(product):
    change_settings(cod_limit=Decimal("40.00"))

    order = place(lines=[(product, 2)], payment_method="cod")

    assert order.status == HELD
    assert codes(order) == ["cod_over_limit"]


def test_the_high_value_thresholds_come_from_the_settings():
    costly = priced("6000.00")
    change_settings(high_value_threshold=Decimal("7000.00"), new_customer_value_threshold=Decimal("7000.00"))

    order = place(lines=[(costly, 1)], payment_method="card", paid_amount="6000.00")

    assert order.status == CONFIRMED
    assert codes(order) == []


def test_a_lower_hold_score_holds_orders_with_fewer_risk_points():
    dearer = priced("2500.00")
    change_settings(hold_score=30)

    order = place(lines=[(dearer, 1)], payment_method="card", paid_amount="2500.00")

    assert order.status == HELD
    assert codes(order) == ["new_customer_high_value"]


def test_the_repeat_order_limit_comes_from_the_settings(product):
    change_settings(velocity_max_orders=1)
    place(lines=[(product, 1)])

    order = place(lines=[(product, 1)])

    assert order.status == HELD
    assert set(codes(order)) == {"repeat_phone", "repeat_address"}


def test_a_longer_repeat_window_counts_older_orders(product):
    long_ago = timezone.now() - timedelta(hours=30)
    for _number in range(3):
        arrived_long_ago(place(lines=[(product, 1)]), long_ago)
    change_settings(velocity_window_hours=48)

    order = place(lines=[(product, 1)])

    assert order.status == HELD
    assert set(codes(order)) == {"repeat_phone", "repeat_address"}


def test_hold_reasons_read_in_the_language_of_whoever_reads_them(product):
    with translation.override("en"):
        order = place(lines=[(product, 1)], city=" ", district="")

    with translation.override("zh-hans"):
        text = describe(order.hold_reasons[0])

    assert text == "地址不完整：缺少城市。"


def test_an_address_without_a_district_is_complete_as_in_cities_that_have_none(product):
    order = place(lines=[(product, 1)], province="广东省", city="东莞市", district="", address="南城街道 8 号")

    assert order.status == Order.Status.CONFIRMED


def test_staff_without_the_price_permission_cannot_set_prices_or_discounts(product):
    clerk = staff("Customer service")
    data = order_input(lines=[(product, 2)], discount="5.00")
    data.lines[0].unit_price = "0.01"

    with pytest.raises(ValidationError) as refused:
        orders.place_order(data, actor=clerk)

    assert set(refused.value.message_dict) == {"lines[1].unit_price", "discount"}
    assert not Order.objects.exists()


def test_a_manager_and_a_channel_may_set_their_own_prices(product):
    by_manager = order_input(lines=[(product, 2)])
    by_manager.lines[0].unit_price = "19.90"
    by_channel = order_input(lines=[(product, 2)], discount="1.00", phone="13900000077", address="文二路 2 号")
    by_channel.lines[0].unit_price = "19.90"

    placed = [
        orders.place_order(by_manager, actor=staff("Manager")).order,
        orders.place_order(by_channel, actor=SYSTEM).order,
    ]

    assert [order.lines.get().unit_price for order in placed] == [Decimal("19.90"), Decimal("19.90")]
    assert placed[1].total == Decimal("38.80")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": 2_000_000_000}, "lines[1].quantity"),
        ({"quantity": 1, "unit_price": "99999999999.00"}, "lines[1].unit_price"),
        ({"quantity": 1_000_000, "unit_price": "99999.00"}, "lines"),
    ],
)
def test_amounts_too_large_for_the_books_are_refused_naming_the_field(product, line, field):
    data = order_input(lines=[(product, 1)])
    data.lines[0].quantity = line["quantity"]
    data.lines[0].unit_price = line.get("unit_price")

    with pytest.raises(ValidationError) as refused:
        orders.place_order(data, actor=SYSTEM)

    assert field in refused.value.message_dict
    assert not Order.objects.exists()


# --- the order date and the currency ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (timedelta(days=2), "later than"),
        (timedelta(days=365 * 17), "later than"),
        (-timedelta(days=731), "earlier than"),
        (-timedelta(days=365 * 2025), "earlier than"),
    ],
)
def test_an_order_date_too_far_ahead_or_back_is_refused(product, settings, shift, message):
    settings.ORDER_DATE_MAX_DAYS_AHEAD, settings.ORDER_DATE_MAX_DAYS_BACK = 1, 730

    with pytest.raises(ValidationError) as refused:
        place(lines=[(product, 1)], placed_at=timezone.now() + shift)

    assert message in refused.value.message_dict["placed_at"][0]
    assert not Order.objects.exists()


@pytest.mark.parametrize("shift", [timedelta(minutes=10), timedelta(hours=20), -timedelta(days=700)])
def test_an_order_date_within_the_bounds_is_kept(product, settings, shift):
    settings.ORDER_DATE_MAX_DAYS_AHEAD, settings.ORDER_DATE_MAX_DAYS_BACK = 1, 730
    moment = timezone.now() + shift

    assert place(lines=[(product, 1)], placed_at=moment).placed_at == moment


def test_the_order_date_bounds_are_settings(product, settings):
    settings.ORDER_DATE_MAX_DAYS_AHEAD = 0
    settings.ORDER_DATE_MAX_DAYS_BACK = 10

    with pytest.raises(ValidationError):
        place(lines=[(product, 1)], placed_at=timezone.now() - timedelta(days=11))
    with pytest.raises(ValidationError):
        place(lines=[(product, 1)], placed_at=timezone.now() + timedelta(hours=1))


def test_a_backdated_order_counts_for_the_repeat_order_rule_by_when_it_arrived(product):
    last_week = timezone.now() - timedelta(days=7)
    for _number in range(3):
        assert place(lines=[(product, 1)], placed_at=last_week).status == CONFIRMED

    order = place(lines=[(product, 1)], placed_at=last_week)

    assert order.status == HELD
    assert set(codes(order)) == {"repeat_phone", "repeat_address"}
    assert order.placed_at == last_week


def test_backdated_orders_in_one_import_count_for_the_repeat_order_rule(product):
    last_week = timezone.now() - timedelta(days=7)
    inputs = [order_input(lines=[(product, 1)], channel_order_id=f"B-{n}", placed_at=last_week) for n in range(4)]

    outcomes = orders.place_orders(inputs, actor=SYSTEM)

    assert [outcome.order.status for outcome in outcomes] == [CONFIRMED, CONFIRMED, CONFIRMED, HELD]


def test_an_order_remembers_when_it_arrived(product):
    before = timezone.now()

    order = place(lines=[(product, 1)], placed_at=before - timedelta(days=3))

    assert before <= order.received_at <= timezone.now()


@pytest.mark.parametrize("currency", ["ÄÖÜ", "XYZ", "ABC", "XTS", "XAU", "CN"])
def test_a_currency_that_is_not_an_iso_4217_code_is_refused(product, currency):
    with pytest.raises(ValidationError) as refused:
        place(lines=[(product, 1)], currency=currency)

    assert "ISO 4217" in refused.value.message_dict["currency"][0]


@pytest.mark.parametrize(("given", "kept"), [("EUR", "EUR"), ("usd", "USD"), (" jpy ", "JPY"), ("", "CNY")])
def test_an_iso_4217_currency_is_kept_in_capitals(product, given, kept):
    assert place(lines=[(product, 1)], currency=given).currency == kept
