"""Orders that wait for their payment (docs/architecture.md, "Orders that wait"): a prepaid order
placed unpaid lands in awaiting_payment, not in review; the payment that makes it paid sends it
through the checks; a channel's payment time limit cancels it and gives its stock back."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from orders import services as orders
from orders.models import (
    BlockedContact,
    IntakeSettings,
    Notification,
    NotificationEvent,
    Order,
    OrderEvent,
    Payment,
)
from orders.services import checks
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, channel_client, place, staff, stock

pytestmark = pytest.mark.django_db

Status = Order.Status
ORDERS = "/api/v1/orders/"


@pytest.fixture
def product():
    kettle = ProductFactory(sku="KETTLE", unit_price=Decimal("25.00"))
    stock(kettle, WarehouseFactory(), 10)
    return kettle


@pytest.fixture
def finance():
    return staff("Finance")


def fresh(order):
    return Order.objects.get(pk=order.pk)


def reserved(product):
    return sum(StockLevel.objects.filter(product=product).values_list("reserved", flat=True))


def unpaid(product, quantity=2, **overrides):
    """A bank transfer order of `quantity` kettles (25.00 each), placed with nothing paid."""
    return place(lines=[(product, quantity)], payment_method="bank_transfer", **overrides)


def age(order, minutes):
    Order.objects.filter(pk=order.pk).update(received_at=timezone.now() - timedelta(minutes=minutes))


# --- intake --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "paid"),
    [("bank_transfer", "0"), ("instalments", "0"), ("card", "0"), ("e_wallet", "0"), ("bank_transfer", "20.00")],
)
def test_a_prepaid_order_placed_unpaid_awaits_payment_not_review(product, method, paid):
    order = place(lines=[(product, 2)], payment_method=method, paid_amount=paid)

    assert order.status == Status.AWAITING_PAYMENT
    assert not order.is_held
    assert [r["code"] for r in order.hold_reasons] == []
    assert OrderEvent.objects.get(order=order).transition == "await_payment"


def test_orders_paid_enough_or_cash_on_delivery_do_not_wait(product):
    paid_card = place(lines=[(product, 2)], payment_method="card", paid_amount="50.00")
    first_instalment = place(lines=[(product, 2)], payment_method="instalments", paid_amount="10.00")
    cash = place(lines=[(product, 2)], payment_method="cod")

    assert [paid_card.status, first_instalment.status, cash.status] == [Status.CONFIRMED] * 3


def test_stock_is_reserved_while_awaiting_payment_when_the_setting_says_so(product):
    order = unpaid(product, 3)

    assert reserved(product) == 3
    assert order.lines.get().allocations.get().quantity == 3


def test_stock_is_not_reserved_while_awaiting_payment_when_the_setting_is_off(product):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"reserve_stock_awaiting_payment": False})

    order = unpaid(product, 3)

    assert order.status == Status.AWAITING_PAYMENT
    assert reserved(product) == 0


def test_the_customer_is_not_told_anything_while_the_order_awaits_payment(product):
    order = unpaid(product, email="buyer@example.com")

    assert not Notification.objects.filter(order=order).exists()


def test_checks_of_the_payment_rule():
    total = Decimal("100.00")
    assert checks.awaits_payment(method="card", total=total, paid=Decimal("0"))
    assert not checks.awaits_payment(method="card", total=total, paid=Decimal("40"))  # a mismatch for review
    assert checks.awaits_payment(method="bank_transfer", total=total, paid=Decimal("40"))
    assert not checks.awaits_payment(method="cod", total=total, paid=Decimal("0"))
    assert not checks.awaits_payment(method="card", total=Decimal("0"), paid=Decimal("0"))
    assert checks.paid_enough(method="instalments", total=total, paid=Decimal("1"))
    assert not checks.paid_enough(method="bank_transfer", total=total, paid=Decimal("99.99"))


# --- paid ----------------------------------------------------------------------------------------


def test_the_payment_that_makes_it_paid_confirms_the_order_with_its_stock(product, finance):
    order = unpaid(product, 2, email="buyer@example.com")

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=finance, reference="B1")

    order = fresh(order)
    assert order.status == Status.CONFIRMED
    assert order.payment_status == Order.PaymentStatus.PAID
    assert reserved(product) == 2
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor) == (Status.AWAITING_PAYMENT, Status.CONFIRMED, finance)
    assert Notification.objects.filter(order=order, event=NotificationEvent.ORDER_CONFIRMED).exists()
    assert not ledger_mismatches().exists()


def test_a_partial_payment_keeps_the_order_waiting(product, finance):
    order = unpaid(product, 2)

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("20.00"), actor=finance)

    assert fresh(order).status == Status.AWAITING_PAYMENT
    assert fresh(order).payment_status == Order.PaymentStatus.PARTIALLY_PAID


def test_the_first_instalment_moves_an_instalment_order_on(product, finance):
    order = place(lines=[(product, 2)], payment_method="instalments")

    orders.record_payment(
        order.pk, method="instalments", amount=Decimal("10.00"), actor=finance, instalment_number=1, instalment_count=5
    )

    assert fresh(order).status == Status.CONFIRMED
    assert fresh(order).balance_due == Decimal("40.00")


def test_stock_not_reserved_while_waiting_is_reserved_when_paid(product, finance):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"reserve_stock_awaiting_payment": False})
    order = unpaid(product, 2)

    orders.record_payment(order.pk, method="card", amount=Decimal("50.00"), actor=finance)

    assert fresh(order).status == Status.CONFIRMED
    assert reserved(product) == 2


def test_a_paid_order_short_of_stock_is_held_for_review_with_the_shortage(product, finance):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"reserve_stock_awaiting_payment": False})
    order = unpaid(product, 4)
    place(lines=[(product, 8)], payment_method="cod", phone="13900139000", address="文三路 1 号")

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("100.00"), actor=finance)

    order = fresh(order)
    assert order.status == Status.ON_HOLD
    assert [r["code"] for r in order.hold_reasons] == ["out_of_stock"]
    assert order.events.last().transition == "hold"


def test_a_paid_order_with_other_reasons_is_held_for_review_with_them(product, finance):
    BlockedContact.objects.create(kind=BlockedContact.Kind.PHONE, value="+8613800138000", reason="chargebacks")
    order = unpaid(product, 2)
    assert order.status == Status.AWAITING_PAYMENT

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=finance)

    order = fresh(order)
    assert order.status == Status.ON_HOLD
    assert "blocked_phone" in [r["code"] for r in order.hold_reasons]


def test_a_reviewer_approves_a_paid_order_held_after_payment_with_its_waiting_reservation(product, finance):
    BlockedContact.objects.create(kind=BlockedContact.Kind.PHONE, value="+8613800138000", reason="chargebacks")
    order = unpaid(product, 2)
    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=finance)

    orders.approve(order.pk, actor=staff("Order reviewer"))

    assert fresh(order).status == Status.CONFIRMED
    assert reserved(product) == 2
    assert not ledger_mismatches().exists()


def test_no_payment_can_be_recorded_on_a_cancelled_unpaid_order(product, finance):
    order = unpaid(product)
    orders.cancel(order.pk, actor=staff("Customer service"), reason="customer changed mind")

    with pytest.raises(ValidationError, match="cancelled"):
        orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=finance)
    assert not Payment.objects.filter(order=order).exists()


# --- cancelled by hand and by the time limit -----------------------------------------------------


def test_cancelling_by_hand_from_awaiting_payment_releases_the_stock(product):
    order = unpaid(product, 3)

    orders.cancel(order.pk, actor=staff("Customer service"), reason="customer changed mind")

    assert fresh(order).status == Status.CANCELLED
    assert reserved(product) == 0
    assert not ledger_mismatches().exists()


def test_orders_unpaid_past_their_channels_limit_are_cancelled_with_stock_released(product):
    channel = ChannelFactory(payment_time_limit_minutes=30)
    late = unpaid(product, 3, channel=channel, email="buyer@example.com")
    age(late, 31)
    recent = unpaid(product, 1, channel=channel, phone="13900139001", address="文三路 2 号")
    age(recent, 10)

    out = StringIO()
    call_command("cancel_unpaid_orders", stdout=out)

    assert fresh(late).status == Status.CANCELLED
    assert fresh(recent).status == Status.AWAITING_PAYMENT
    assert reserved(product) == 1
    assert not ledger_mismatches().exists()
    event = fresh(late).events.last()
    assert event.actor is None
    assert event.reason == "Not paid within 30 minutes: the channel's payment time limit."
    assert Notification.objects.filter(order=late, event=NotificationEvent.ORDER_CANCELLED).exists()
    assert "1 unpaid orders cancelled" in out.getvalue() and late.number in out.getvalue()


def test_a_channel_without_a_limit_keeps_its_unpaid_orders(product):
    order = unpaid(product, channel=ChannelFactory(payment_time_limit_minutes=None))
    age(order, 60 * 24 * 30)

    assert orders.cancel_unpaid_orders().cancelled == []
    assert fresh(order).status == Status.AWAITING_PAYMENT


def test_an_unpaid_order_held_by_hand_is_not_cancelled_by_the_time_limit(product):
    order = unpaid(product, channel=ChannelFactory(payment_time_limit_minutes=30))
    age(order, 60)
    orders.hold_orders([order.pk], reason="customer pays at the counter tomorrow", actor=staff("Customer service"))

    assert orders.cancel_unpaid_orders().cancelled == []
    assert fresh(order).status == Status.AWAITING_PAYMENT


def test_money_paid_in_part_becomes_a_refund_when_the_time_limit_cancels(product, finance):
    order = unpaid(product, 2, channel=ChannelFactory(payment_time_limit_minutes=30))
    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("20.00"), actor=finance)
    age(order, 45)

    orders.cancel_unpaid_orders()

    order = fresh(order)
    assert order.status == Status.CANCELLED
    assert order.refund_due == Decimal("20.00")


# --- console -------------------------------------------------------------------------------------


def test_the_order_list_filters_awaiting_payment(client, product):
    waiting = unpaid(product)
    confirmed = place(lines=[(product, 1)], payment_method="cod", phone="13900139002", address="文三路 3 号")
    client.force_login(staff("Customer service"))

    response = client.get(reverse("admin:orders_order_changelist"), {"status__exact": "awaiting_payment"})

    assert response.status_code == 200
    numbers = [order.number for order in response.context["cl"].result_list]
    assert numbers == [waiting.number]
    assert confirmed.number not in numbers


def test_the_payment_form_on_the_order_page_confirms_an_awaiting_order(client, product, finance):
    order = unpaid(product, 2, channel=ChannelFactory(payment_time_limit_minutes=60))
    client.force_login(finance)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert "Awaiting payment of CNY 50.00." in page.content.decode()
    assert "Cancelled if still unpaid at" in page.content.decode()

    response = client.post(
        reverse("admin:orders_order_payment", args=[order.pk]),
        {"method": "bank_transfer", "amount": "50.00", "reference": "B-77"},
    )

    assert response.status_code == 302
    assert fresh(order).status == Status.CONFIRMED


def test_a_manager_sets_whether_stock_is_reserved_while_awaiting_payment(client):
    client.force_login(staff("Manager"))
    settings = IntakeSettings.current()
    url = reverse("admin:orders_intakesettings_change", args=[settings.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.pop("reserve_stock_awaiting_payment")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert IntakeSettings.current().reserve_stock_awaiting_payment is False


# --- API -----------------------------------------------------------------------------------------


def test_an_unpaid_bank_transfer_order_posted_by_a_channel_awaits_payment(product):
    api = channel_client(ChannelFactory())
    body = {
        "channel_order_id": "BT-1",
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "浙江省",
        "city": "杭州市",
        "address": "文三路 90 号",
        "payment_method": "bank_transfer",
        "lines": [{"sku": "KETTLE", "quantity": 2}],
    }

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "awaiting_payment"


def test_a_channel_reports_the_payment_and_the_order_is_confirmed_once_under_one_key(product):
    channel = ChannelFactory()
    order = unpaid(product, 2, channel=channel)
    api = channel_client(channel)
    url = f"{ORDERS}{order.number}/payments/"

    first = api.post(url, {"amount": "50.00", "reference": "TX-9"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = api.post(url, {"amount": "50.00", "reference": "TX-9"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")

    assert first.status_code == 201, first.content
    assert first.json()["status"] == "confirmed"
    assert first.json()["payment_status"] == "paid"
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Payment.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).method == "bank_transfer"


def test_a_payment_for_a_cancelled_order_is_refused_with_409(product):
    channel = ChannelFactory()
    order = unpaid(product, channel=channel)
    orders.cancel(order.pk, actor=SYSTEM, reason="gone")

    response = channel_client(channel).post(f"{ORDERS}{order.number}/payments/", {"amount": "50.00"}, format="json")

    assert response.status_code == 409, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("payment-not-possible")


def test_a_payment_over_the_total_is_refused_with_400_naming_the_amount(product):
    channel = ChannelFactory()
    order = unpaid(product, channel=channel)

    response = channel_client(channel).post(f"{ORDERS}{order.number}/payments/", {"amount": "80.00"}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["pointer"] == "#/amount"
    assert fresh(order).status == Status.AWAITING_PAYMENT


def test_a_channel_cannot_pay_another_channels_order(product):
    order = unpaid(product, channel=ChannelFactory(code="web"))
    other = channel_client(ChannelFactory(code="app", name="App"))

    response = other.post(f"{ORDERS}{order.number}/payments/", {"amount": "50.00"}, format="json")

    assert response.status_code == 404
    assert not Payment.objects.filter(order=order).exists()


# --- rollups -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_rollups_stay_exact_through_waiting_paying_and_cancelling(product, finance):
    channel = ChannelFactory(payment_time_limit_minutes=30)
    paid_later = unpaid(product, 1, channel=channel)
    expired = unpaid(product, 1, channel=channel, phone="13900139003", address="文三路 4 号")
    orders.record_payment(paid_later.pk, method="bank_transfer", amount=Decimal("25.00"), actor=finance)
    age(expired, 40)
    orders.cancel_unpaid_orders()

    out = StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "The rollups agreed with the recomputation" in out.getvalue(), out.getvalue()


# --- races ---------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("reserve_while_waiting", [True, False])
def test_a_payment_racing_the_unpaid_cancel_one_wins_and_stock_agrees(product, finance, reserve_while_waiting):
    from tests.test_concurrency import race

    IntakeSettings.objects.update_or_create(pk=1, defaults={"reserve_stock_awaiting_payment": reserve_while_waiting})
    order = unpaid(product, 2, channel=ChannelFactory(payment_time_limit_minutes=30))
    age(order, 31)

    paying, cancelling = race(
        lambda: orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=finance),
        orders.cancel_unpaid_orders,
    )

    order = fresh(order)
    if isinstance(paying, Payment):
        assert order.status == Status.CONFIRMED
        assert cancelling.cancelled == [] and order.pk in cancelling.skipped
        assert reserved(product) == 2
    else:
        assert isinstance(paying, ValidationError), paying
        assert cancelling.cancelled == [order.number]
        assert order.status == Status.CANCELLED
        assert not Payment.objects.filter(order=order).exists()
        assert reserved(product) == 0
    assert not ledger_mismatches().exists()


def test_an_order_entered_unpaid_by_bank_transfer_says_it_awaits_its_payment(client, product):
    client.force_login(staff("Manager"))
    data = {
        "channel": ChannelFactory().pk,
        "channel_order_id": "console-bt-1",
        "recipient": "王小明",
        "phone": "13800138000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号",
        "postcode": "310012",
        "payment_method": "bank_transfer",
        "paid_amount": "0",
        "shipping_fee": "0",
        "discount": "0",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-sku": "KETTLE",
        "lines-0-quantity": "1",
    }

    response = client.post(reverse("admin:orders_order_add"), data, follow=True)

    order = Order.objects.get()
    assert order.status == Status.AWAITING_PAYMENT
    assert any("awaits its payment" in str(m) for m in response.context["messages"])


# --- Excel ---------------------------------------------------------------------------------------


def test_an_unpaid_bank_transfer_row_of_an_import_lands_awaiting_payment(product):
    from tests.test_import_orders import check, confirm, row, xlsx

    ChannelFactory(code="web", name="Web shop")
    clerk = staff("Customer service")
    content = xlsx(
        [
            row("X-1", "KETTLE", 2, payment_method="银行转账", paid_amount=""),
            row("X-2", "KETTLE", 1, payment_method="bank_transfer", paid_amount="25.00", phone="139 0000 0002"),
        ]
    )

    checked = check(content, actor=clerk)
    assert checked.summary["awaiting_payment"] == 1 and checked.summary["confirmed"] == 1
    done = confirm(checked, actor=clerk)

    assert done.summary["awaiting_payment"] == 1
    assert Order.objects.get(channel_order_id="X-1").status == Status.AWAITING_PAYMENT
    assert Order.objects.get(channel_order_id="X-2").status == Status.CONFIRMED
