"""Refunds never exceed what a payment captured, also when two of Finance approve at once, and the
services that settle money (cancel, record a payment, a return's refund) lock in one order with
the refund steps, so none of them deadlocks or leaves figures half-updated: real threads on their
own PostgreSQL connections, released together by a barrier."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from aftersales import services as aftersales
from aftersales.models import Outcome
from core.transitions import TransitionRefused
from orders import services as orders
from orders.models import Order, Refund
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_concurrency import race, split
from tests.test_returns import ask, delivered_order, take_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def payment():
    """A card payment of 100.00 captured for an order of 100.00."""
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 10)
    order = place(lines=[(product, 4)], payment_method="card", paid_amount="100.00")
    return order.payments.get()


def committed(payment):
    return Refund.objects.filter(payment=payment, status__in=[Refund.Status.APPROVED, Refund.Status.PAID]).aggregate(
        total=Sum("amount")
    )["total"]


def test_two_approvals_that_together_exceed_the_payment_approve_exactly_one(payment):
    asker = staff("Customer service")
    first = orders.request_refund(payment.order_id, amount=Decimal("70.00"), reason="a", actor=asker)[0]
    second = orders.request_refund(payment.order_id, amount=Decimal("60.00"), reason="b", actor=asker)[0]
    alice, bob = staff("Finance"), staff("Finance")

    outcomes = race(
        lambda: orders.approve_refund(first.pk, actor=alice),
        lambda: orders.approve_refund(second.pk, actor=bob),
    )

    approved, refused = split(outcomes, Refund)
    assert len(approved) == 1 and len(refused) == 1
    assert isinstance(refused[0], ValidationError) and "amount" in refused[0].message_dict
    assert committed(payment) == approved[0].amount <= payment.amount
    statuses = sorted(Refund.objects.filter(payment=payment).values_list("status", flat=True))
    assert statuses == [Refund.Status.APPROVED, Refund.Status.REQUESTED]
    assert Order.objects.get(pk=payment.order_id).refund_due == Decimal("130.00")


def test_the_same_refund_approved_twice_at_once_is_approved_once(payment):
    refund = orders.request_refund(payment.order_id, amount=Decimal("100.00"), reason="a", actor=staff("Finance"))[0]
    alice, bob = staff("Finance"), staff("Finance")

    outcomes = race(
        lambda: orders.approve_refund(refund.pk, actor=alice),
        lambda: orders.approve_refund(refund.pk, actor=bob),
    )

    approved, refused = split(outcomes, Refund)
    assert len(approved) == 1
    assert len(refused) == 1 and isinstance(refused[0], TransitionRefused)
    stored = Refund.objects.get(pk=refund.pk)
    assert (stored.status, stored.approved_by) == (Refund.Status.APPROVED, approved[0].approved_by)
    assert committed(payment) == Decimal("100.00")


def test_paying_out_while_another_refund_is_requested_keeps_the_figures_whole(payment):
    finance = staff("Finance")
    refund = orders.request_refund(payment.order_id, amount=Decimal("40.00"), reason="a", actor=finance)[0]
    orders.approve_refund(refund.pk, actor=finance)

    outcomes = race(
        lambda: orders.mark_refund_paid(refund.pk, actor=finance, reference="RF-1"),
        lambda: orders.request_refund(payment.order_id, amount=Decimal("60.00"), reason="b", actor=finance),
    )

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    order = Order.objects.get(pk=payment.order_id)
    assert (order.amount_refunded, order.refund_due, order.payment_status) == (
        Decimal("40.00"),
        Decimal("60.00"),
        Order.PaymentStatus.PARTIALLY_REFUNDED,
    )


def open_refunds(order_id):
    return Refund.objects.filter(order_id=order_id, status__in=Refund.OPEN).aggregate(total=Sum("amount"))["total"]


def test_a_payment_recorded_while_the_order_is_cancelled_is_refunded_or_refused():
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 10)
    order = place(lines=[(product, 4)], payment_method="bank_transfer")

    cancelled, paid = race(
        lambda: orders.cancel(order.pk, actor=staff("Manager"), reason="customer changed mind"),
        lambda: orders.record_payment(
            order.pk, method="bank_transfer", amount=Decimal("100.00"), actor=staff("Finance")
        ),
    )

    assert not isinstance(cancelled, Exception)
    order = Order.objects.get(pk=order.pk)
    assert order.status == Order.Status.CANCELLED
    if isinstance(paid, Exception):
        assert isinstance(paid, ValidationError) and "cancelled" in paid.messages[0]
        assert (order.amount_paid, order.refund_due) == (Decimal("0.00"), Decimal("0.00"))
    else:
        assert (order.amount_paid, order.refund_due, open_refunds(order.pk)) == (
            Decimal("100.00"),
            Decimal("100.00"),
            Decimal("100.00"),
        )


def test_cancelling_while_finance_approves_a_refund_asks_for_the_rest_exactly_once(payment):
    finance = staff("Finance")
    [earlier] = orders.request_refund(payment.order_id, amount=Decimal("30.00"), reason="late", actor=finance)

    outcomes = race(
        lambda: orders.approve_refund(earlier.pk, actor=finance),
        lambda: orders.cancel(payment.order_id, actor=staff("Manager"), reason="out of stock"),
    )

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert sorted(Refund.objects.filter(payment=payment).values_list("status", "amount")) == [
        (Refund.Status.APPROVED, Decimal("30.00")),
        (Refund.Status.REQUESTED, Decimal("70.00")),
    ]
    assert Order.objects.get(pk=payment.order_id).refund_due == Decimal("100.00")


def test_a_returns_refund_asked_for_while_finance_approves_another_never_takes_more_than_captured():
    product = ProductFactory(unit_price=Decimal("25.00"))
    order = delivered_order((product, 4))
    case = take_to(ask(order, (product, 2), actor=staff("Customer service")), "inspected")
    finance = staff("Finance")
    [goodwill] = orders.request_refund(order.pk, amount=Decimal("80.00"), reason="goodwill", actor=finance)

    resolved, approved = race(
        lambda: aftersales.resolve_return(case.pk, outcome=Outcome.REFUND, actor=staff("Customer service")),
        lambda: orders.approve_refund(goodwill.pk, actor=finance),
    )

    assert isinstance(approved, Refund) and approved.status == Refund.Status.APPROVED
    if isinstance(resolved, Exception):
        # Approved first: the return is told how little is left and stays to be resolved.
        assert "At most 20.00 CNY" in resolved.message_dict["refund_amount"][0]
        assert not Refund.objects.filter(order=order).exclude(pk=goodwill.pk).exists()
    else:
        [for_return] = resolved.refunds.all()
        assert (for_return.amount, for_return.status) == (Decimal("50.00"), Refund.Status.REQUESTED)
        with pytest.raises(ValidationError, match="20.00 after the refunds approved or paid already"):
            orders.approve_refund(for_return.pk, actor=finance)
    [payment] = order.payments.all()
    assert committed(payment) == Decimal("80.00")
