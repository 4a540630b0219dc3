import pytest

from inventory.models import StockLevel
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, place, stock

pytestmark = pytest.mark.django_db


def test_order_with_stock_is_confirmed_and_reserves_it():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)

    order = place(lines=[(product, 2)])

    assert order.status == Order.Status.CONFIRMED
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (5, 2)
    assert StockLevel.objects.get(pk=level.pk).available == 3
