"""Payments: partial payments, instalments, cash on delivery (recorded once goods have left, owed
by the carrier from delivery until its remittance is recorded) and the payment status that follows
from payments and refunds."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from logistics import services as logistics
from orders import services as orders
from orders.models import Order, Payment
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db

PaymentStatus = Order.PaymentStatus


@pytest.fixture
def finance():
    return staff("Finance")


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 20)
    return item


def fresh(order):
    return Order.objects.get(pk=order.pk)


def figures(order):
    order = fresh(order)
    return order.payment_status, order.amount_paid, order.amount_refunded, order.refund_due


def test_partial_payments_add_up_to_paid(finance, product):
    order = place(lines=[(product, 4)], payment_method="bank_transfer")
    assert figures(order) == (PaymentStatus.UNPAID, 0, 0, 0)

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("30.00"), actor=finance, reference="B1")
    assert figures(order) == (PaymentStatus.PARTIALLY_PAID, Decimal("30.00"), 0, 0)
    orders.record_payment(order.pk, method="e_wallet", amount=Decimal("70.00"), actor=finance, reference="W1")

    assert figures(order) == (PaymentStatus.PAID, Decimal("100.00"), 0, 0)
    assert fresh(order).balance_due == 0


def test_payment_status_follows_payments_then_refunds_through_every_status(finance, product):
    order = place(lines=[(product, 4)], payment_method="card")
    statuses = [fresh(order).payment_status]

    orders.record_payment(order.pk, method="card", amount=Decimal("40.00"), actor=finance)
    statuses.append(fresh(order).payment_status)
    orders.record_payment(order.pk, method="card", amount=Decimal("60.00"), actor=finance)
    statuses.append(fresh(order).payment_status)
    [first] = orders.request_refund(order.pk, amount=Decimal("25.00"), reason="one broken", actor=finance)
    orders.approve_refund(first.pk, actor=finance)
    assert fresh(order).payment_status == PaymentStatus.PAID, "a refund counts once it is paid out"
    orders.mark_refund_paid(first.pk, actor=finance, reference="RF-1")
    statuses.append(fresh(order).payment_status)
    rest = orders.request_refund(order.pk, amount=Decimal("75.00"), reason="customer returned all", actor=finance)
    for refund in rest:
        orders.approve_refund(refund.pk, actor=finance)
        orders.mark_refund_paid(refund.pk, actor=finance, reference=f"RF-{refund.pk}")
    statuses.append(fresh(order).payment_status)

    assert statuses == [
        PaymentStatus.UNPAID,
        PaymentStatus.PARTIALLY_PAID,
        PaymentStatus.PAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ]
    assert figures(order) == (PaymentStatus.REFUNDED, Decimal("100.00"), Decimal("100.00"), 0)


def test_instalments_are_recorded_with_their_number_and_count(finance, product):
    order = place(lines=[(product, 6)], payment_method="instalments")

    for number in (1, 2):
        orders.record_payment(
            order.pk,
            method="instalments",
            amount=Decimal("25.00"),
            actor=finance,
            instalment_number=number,
            instalment_count=6,
        )

    assert list(order.payments.values_list("instalment_number", "instalment_count")) == [(1, 6), (2, 6)]
    assert figures(order) == (PaymentStatus.PARTIALLY_PAID, Decimal("50.00"), 0, 0)


@pytest.mark.parametrize(
    ("method", "number", "count", "field"),
    [
        ("instalments", 2, None, "instalment_count"),
        ("instalments", None, 6, "instalment_number"),
        ("card", 1, 6, "method"),
        ("instalments", 7, 6, "instalment_number"),
        ("instalments", 0, 6, "instalment_number"),
        ("instalments", 1, 0, "instalment_count"),
    ],
)
def test_instalment_details_that_do_not_fit_are_refused(finance, product, method, number, count, field):
    order = place(lines=[(product, 6)], payment_method="instalments")

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(
            order.pk,
            method=method,
            amount=Decimal("25.00"),
            actor=finance,
            instalment_number=number,
            instalment_count=count,
        )

    assert field in refused.value.message_dict
    assert not Payment.objects.exists()


def test_an_instalment_is_recorded_once_and_the_count_stays_the_same(finance, product):
    order = place(lines=[(product, 6)], payment_method="instalments")
    orders.record_payment(
        order.pk, method="instalments", amount=Decimal("25.00"), actor=finance, instalment_number=1, instalment_count=6
    )

    with pytest.raises(ValidationError) as again:
        orders.record_payment(
            order.pk,
            method="instalments",
            amount=Decimal("25.00"),
            actor=finance,
            instalment_number=1,
            instalment_count=6,
        )
    with pytest.raises(ValidationError) as other_count:
        orders.record_payment(
            order.pk,
            method="instalments",
            amount=Decimal("25.00"),
            actor=finance,
            instalment_number=2,
            instalment_count=3,
        )

    assert "recorded already" in again.value.message_dict["instalment_number"][0]
    assert "paid in 6 instalments" in other_count.value.message_dict["instalment_count"][0]
    assert order.payments.count() == 1


@pytest.mark.parametrize("amount", [Decimal("10.001"), Decimal("NaN"), 10])
def test_an_amount_that_is_not_money_is_refused(finance, product, amount):
    order = place(lines=[(product, 1)], payment_method="card")

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(order.pk, method="card", amount=amount, actor=finance)

    assert "amount" in refused.value.message_dict


def test_an_amount_written_with_an_exponent_is_taken_and_told_in_cents(finance, product):
    order = place(lines=[(product, 2)], payment_method="card")

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(order.pk, method="card", amount=Decimal("1E+3"), actor=finance)
    payment = orders.record_payment(order.pk, method="card", amount=Decimal("5E+1"), actor=finance)

    assert refused.value.message_dict["amount"] == ["This would take 1000.00 in all for an order of 50.00."]
    assert str(payment.amount) == "50.00"


@pytest.mark.parametrize("status", ["confirmed", "picking", "packed"])
def test_cash_on_delivery_is_not_recorded_before_the_goods_leave(finance, product, status):
    order = place(lines=[(product, 2)])
    if status != "confirmed":
        order = advance(order, status)

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(order.pk, method="cod", amount=Decimal("50.00"), actor=finance)

    assert "has not left the warehouse" in refused.value.message_dict["method"][0]
    assert not Payment.objects.exists()


def test_cash_on_delivery_may_be_recorded_once_shipped(finance, product):
    order = advance(place(lines=[(product, 2)]), "shipped")

    orders.record_payment(order.pk, method="cod", amount=Decimal("20.00"), actor=finance, reference="carrier remit")

    assert figures(order) == (PaymentStatus.PARTIALLY_PAID, Decimal("20.00"), 0, 0)


def test_delivery_of_a_cash_on_delivery_order_leaves_it_owed_until_the_remittance(product):
    operator = staff("Warehouse operator")
    order = advance(place(lines=[(product, 2)]), "shipped", actor=operator)
    [shipment] = order.shipments.all()

    logistics.mark_delivered(shipment.pk, actor=operator)

    order = fresh(order)
    assert order.status == Order.Status.DELIVERED
    assert figures(order) == (PaymentStatus.UNPAID, Decimal("0.00"), 0, 0)
    assert not order.payments.exists()


def test_a_remittance_captures_what_each_order_owed_with_the_batch_reference(finance, product):
    order = advance(place(lines=[(product, 2)]), "delivered", remitted=False)

    [payment] = orders.record_cod_remitted([orders.Remitted(order.pk, Decimal("50.00"), "SF-B1")], actor=finance)

    assert figures(order) == (PaymentStatus.PAID, Decimal("50.00"), 0, 0)
    payment = Payment.objects.get(pk=payment.pk)
    assert (payment.method, payment.amount, payment.reference, payment.recorded_by) == (
        "cod",
        Decimal("50.00"),
        "SF-B1",
        finance,
    )


def test_delivery_of_a_prepaid_order_records_no_payment(finance, product):
    order = place(lines=[(product, 2)], payment_method="card", paid_amount="50.00")

    advance(order, "delivered")

    assert fresh(order).payments.count() == 1


def test_a_remittance_is_refused_whole_past_the_total_before_shipping_or_for_other_methods(finance, product):
    delivered = advance(place(lines=[(product, 2)]), "delivered", remitted=False)
    shipped = advance(place(lines=[(product, 2)], phone="13900000008"), "shipped")
    by_card = advance(
        place(lines=[(product, 1)], payment_method="card", paid_amount="25.00", phone="13900000009"), "delivered"
    )
    confirmed = place(lines=[(product, 1)], phone="13900000007")

    with pytest.raises(ValidationError, match="would take 50.01 in all"):
        orders.record_cod_remitted([orders.Remitted(delivered.pk, Decimal("50.01"), "B")], actor=finance)
    with pytest.raises(ValidationError, match="not paid cash on delivery"):
        orders.record_cod_remitted(
            [orders.Remitted(delivered.pk, Decimal("50.00"), "B"), orders.Remitted(by_card.pk, Decimal("1"), "B")],
            actor=finance,
        )
    with pytest.raises(ValidationError, match="collected nothing"):
        orders.record_cod_remitted([orders.Remitted(confirmed.pk, Decimal("25.00"), "B")], actor=finance)

    assert not Payment.objects.filter(order__in=[delivered, confirmed]).exists()
    orders.record_cod_remitted([orders.Remitted(shipped.pk, Decimal("50.00"), "B")], actor=finance)
    assert figures(shipped)[:2] == (PaymentStatus.PAID, Decimal("50.00"))


def test_roles_without_payments_may_not_record_a_remittance(product):
    order = advance(place(lines=[(product, 2)]), "delivered", remitted=False)

    with pytest.raises(PermissionDenied):
        orders.record_cod_remitted([orders.Remitted(order.pk, Decimal("50.00"), "B")], actor=staff("Customer service"))


@pytest.mark.parametrize("role", ["Warehouse operator", "Customer service", "Order reviewer"])
def test_only_finance_and_managers_record_payments(product, role):
    order = place(lines=[(product, 2)], payment_method="bank_transfer")

    with pytest.raises(PermissionDenied):
        orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("5.00"), actor=staff(role))

    assert not Payment.objects.exists()


def test_the_order_page_offers_finance_a_payment_form_only_while_money_is_due(client, finance, product):
    due = place(lines=[(product, 2)], payment_method="bank_transfer")
    cancelled = place(lines=[(product, 2)], payment_method="bank_transfer", phone="13900000011")
    orders.cancel(cancelled.pk, actor=staff("Manager"), reason="customer changed mind")
    client.force_login(finance)

    def payment_form_of(order):
        return client.get(reverse("admin:orders_order_change", args=[order.pk])).context["payment_form"]

    assert payment_form_of(due).initial == {"method": "bank_transfer", "amount": Decimal("50.00")}
    assert payment_form_of(cancelled) is None
