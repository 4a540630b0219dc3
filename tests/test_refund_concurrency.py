"""Refunds never exceed what a payment captured, also when two of Finance approve at once: real
threads on their own PostgreSQL connections, released together by a barrier."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from orders import services as orders
from orders.models import Order, Refund
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_concurrency import race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def payment():
    """A card payment of 100.00 captured for an order of 100.00."""
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 10)
    order = place(lines=[(product, 4)], payment_method="card", paid_amount="100.00")
    return order.payments.get()


def committed(payment):
    return Refund.objects.filter(payment=payment, status__in=[Refund.Status.APPROVED, Refund.Status.PAID]) \
        .aggregate(total=Sum("amount"))["total"]


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
    assert len(refused) == 1 and isinstance(refused[0], orders.TransitionRefused)
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
        Decimal("40.00"), Decimal("60.00"), Order.PaymentStatus.PARTIALLY_REFUNDED,
    )
