"""The settlement statement: one order's lines, shipping, discount, payments, refunds and balance on a
print-ready page, for the roles that deal with money."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services as orders
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled_order():
    """Two lines, shipping 12.00, discount 5.00: a total of 82.00 paid in two instalments of 41.00,
    with a refund of 10.00 paid out and one of 6.00 declined."""
    finance = staff("Finance")
    mug, tea = (
        ProductFactory(sku="MUG-1", name="Blue mug", unit_price=Decimal("25.00")),
        ProductFactory(sku="TEA-9", name="Green tea", unit_price=Decimal("25.00")),
    )
    warehouse = WarehouseFactory()
    stock(mug, warehouse, 5)
    stock(tea, warehouse, 5)
    order = place(
        lines=[(mug, 2), (tea, 1)],
        payment_method="instalments",
        shipping_fee=Decimal("12.00"),
        discount=Decimal("5.00"),
        actor=staff("Manager"),
    )
    for number in (1, 2):
        orders.record_payment(
            order.pk,
            method="instalments",
            amount=Decimal("41.00"),
            actor=finance,
            reference=f"INS-{number}",
            instalment_number=number,
            instalment_count=2,
        )
    [paid] = orders.request_refund(order.pk, amount=Decimal("10.00"), reason="chipped mug", actor=finance)
    orders.approve_refund(paid.pk, actor=finance)
    orders.mark_refund_paid(paid.pk, actor=finance, reference="RF-555")
    [declined] = orders.request_refund(order.pk, amount=Decimal("6.00"), reason="asked twice", actor=finance)
    orders.fail_refund(declined.pk, actor=finance, reason="duplicate request")
    order.refresh_from_db()
    return order


def statement_url(order):
    return reverse("admin:orders_order_statement", args=[order.pk])


def text_of(response):
    return " ".join(response.content.decode().split())


def test_the_statement_lists_lines_totals_payments_refunds_and_balance(client, settled_order):
    client.force_login(staff("Finance"))

    response = client.get(statement_url(settled_order))

    assert response.status_code == 200
    page = text_of(response)
    assert settled_order.number in page and "Settlement statement" in page
    assert '<td class="mono">MUG-1</td><td>Blue mug</td><td class="num">2</td>' in page
    assert "Green tea" in page
    assert '<th>Shipping</th><td class="num">CNY 12.00</td>' in page
    assert '<th>Discount</th><td class="num">− CNY 5.00</td>' in page
    assert '<th>Total</th><td class="num">CNY 82.00</td>' in page
    assert "Instalments 1/2" in page and "INS-1" in page and "INS-2" in page
    assert "chipped mug" in page and "RF-555" in page and "asked twice" in page
    assert '<td class="status">Paid</td>' in page and '<td class="status">Failed</td>' in page
    assert '<th>Refunded</th><td class="num">− CNY 10.00</td>' in page
    assert '<th>Net paid</th><td class="num">CNY 72.00</td>' in page
    assert '<th>Balance due</th><td class="num">CNY 0.00</td>' in page


def test_the_statement_shows_what_is_still_due_and_owed(client):
    finance = staff("Finance")
    product = ProductFactory(unit_price=Decimal("30.00"))
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 2)], payment_method="bank_transfer")
    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("40.00"), actor=finance)
    orders.request_refund(order.pk, amount=Decimal("15.00"), reason="price match", actor=finance)
    client.force_login(finance)

    page = text_of(client.get(statement_url(order)))

    assert '<th>Refund owed</th><td class="num">CNY 15.00</td>' in page
    assert '<th>Balance due</th><td class="num">CNY 20.00</td>' in page
    assert "No refund." not in page


def test_a_cancelled_order_owes_nothing_more(client):
    product = ProductFactory(unit_price=Decimal("30.00"))
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])
    orders.cancel(order.pk, actor=staff("Manager"), reason="duplicate")
    client.force_login(staff("Manager"))

    page = text_of(client.get(statement_url(order)))

    assert '<th>Balance due</th><td class="num">CNY 0.00</td>' in page
    assert "No payment recorded." in page


def test_the_statement_is_ready_to_print_without_anything_from_outside(client, settled_order):
    client.force_login(staff("Customer service"))

    content = client.get(statement_url(settled_order)).content.decode()

    assert "@page { size: A4" in content
    assert "data-print" in content
    assert "http://" not in content and "https://" not in content


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("Finance", True),
        ("Customer service", True),
        ("Manager", True),
        ("Warehouse operator", False),
        ("Logistics coordinator", False),
        ("Order reviewer", False),
    ],
)
def test_only_roles_that_deal_with_money_see_statements(client, settled_order, role, allowed):
    client.force_login(staff(role))

    response = client.get(statement_url(settled_order))
    page = client.get(reverse("admin:orders_order_change", args=[settled_order.pk])).content.decode()

    assert response.status_code == (200 if allowed else 403)
    assert (statement_url(settled_order) in page) == allowed


def test_an_unknown_order_has_no_statement(client):
    client.force_login(staff("Finance"))

    assert client.get(reverse("admin:orders_order_statement", args=[999999])).status_code == 404
