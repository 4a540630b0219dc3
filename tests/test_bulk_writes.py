"""Writing and reading many rows in few statements (core.bulk, core.lookups): the same rows as
Django's own bulk_create and __in, on PostgreSQL and SQLite alike."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import bulk
from inventory.models import Product, StockLevel, StockMovement
from orders.models import Order, OrderLine, Payment, PaymentMethod
from tests.factories import ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 50)
    return item


def test_any_finds_what_in_finds_for_plain_fields_and_foreign_keys(product):
    orders = [place(lines=[(product, 1)]) for _ in range(3)]
    ids = [order.pk for order in orders[:2]]

    assert set(Order.objects.filter(pk__any=ids)) == set(Order.objects.filter(pk__in=ids)) == set(orders[:2])
    numbers = [orders[2].number, "NO-SUCH-ORDER"]
    assert list(Order.objects.filter(number__any=numbers)) == [orders[2]]
    lines = {line.order_id for line in OrderLine.objects.filter(order_id__any=ids)}
    assert lines == set(ids)
    assert not Order.objects.filter(pk__any=[]).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the array parameter is PostgreSQL's")
def test_any_sends_one_parameter_however_many_values(product):
    order = place(lines=[(product, 1)])
    with CaptureQueriesContext(connection) as captured:
        found = list(
            Order.objects.filter(pk__any=[order.pk, *range(10_000_000, 10_005_000)]).values_list("pk", flat=True)
        )
    assert found == [order.pk]
    assert "= ANY(" in captured[0]["sql"]
    assert captured[0]["sql"].count("%s") + captured[0]["sql"].count("10000001") <= 2


def test_insert_columns_writes_each_row_with_its_values_constants_and_defaults(product):
    orders = [advance(place(lines=[(product, 2)]), "delivered", remitted=False) for _ in range(2)]

    ids = bulk.insert_columns(
        Payment,
        {
            "order_id": [order.pk for order in orders],
            "amount": [Decimal("10.00"), Decimal("20.50")],
            "reference": ("B-1", "B-2"),
            "method": PaymentMethod.COD,
            "created_at": orders[0].placed_at,
        },
        batch_size=1000,
    )

    saved = Payment.objects.in_bulk(ids)
    assert [(saved[pk].order_id, saved[pk].amount, saved[pk].reference) for pk in ids] == [
        (orders[0].pk, Decimal("10.00"), "B-1"),
        (orders[1].pk, Decimal("20.50"), "B-2"),
    ]
    assert {(payment.method, payment.status, payment.recorded_by_id) for payment in saved.values()} == {
        (PaymentMethod.COD, Payment.Status.CAPTURED, None)
    }


def test_insert_columns_refuses_columns_of_different_lengths_and_fields_set_when_saved(product):
    level = StockLevel.objects.filter(product=product).first()
    with pytest.raises(ValueError, match="every row"):
        bulk.insert_columns(Product, {"sku": ["A", "B"], "name": ["only one"], "unit_price": 1}, batch_size=10)
    with pytest.raises(ValueError, match="created_at"):
        bulk.insert_columns(StockMovement, {"stock_level_id": [level.pk], "kind": "received"}, batch_size=10)
    assert bulk.insert_columns(Product, {"sku": [], "name": [], "unit_price": 1}, batch_size=10) == []


def test_insert_sets_the_primary_keys_of_the_instances(product):
    products = [Product(sku=f"BULK-{n}", name=f"Bulk {n}", unit_price=Decimal("1.00")) for n in range(3)]
    for made in products:
        made.created_at = timezone.now()

    bulk.insert(products, batch_size=2)

    assert [Product.objects.get(pk=made.pk).sku for made in products] == ["BULK-0", "BULK-1", "BULK-2"]
