"""Classifications at the same time as each other and as a catalogue upload, on real PostgreSQL
connections: they run one after the other, leave one snapshot and never wait in a circle."""

from decimal import Decimal
from functools import partial

import pytest

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import Product
from planning import services
from planning.models import InventorySnapshot, StockFigure
from tests.factories import ProductFactory, WarehouseFactory, place_apart, stock
from tests.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop():
    warehouse = WarehouseFactory()
    products = [ProductFactory(sku=f"RACE-{n}", unit_price=Decimal("10.00")) for n in range(1, 7)]
    for units, product in zip([60, 25, 10, 5, 0, 0], products, strict=True):
        stock(product, warehouse, 100)
        if units:
            place_apart(lines=[(product, units)])
    return products


def test_two_classifications_at_once_leave_one_snapshot_and_the_same_classes(shop):
    outcomes = race(
        partial(services.recompute_classification, actor=SYSTEM),
        partial(services.recompute_classification, actor=SYSTEM),
    )

    assert all(isinstance(outcome, InventorySnapshot) for outcome in outcomes), outcomes
    assert InventorySnapshot.objects.count() == 1
    assert StockFigure.objects.count() == 6
    assert dict(Product.objects.values_list("sku", "abc_class")) == {
        "RACE-1": "A",
        "RACE-2": "A",
        "RACE-3": "B",
        "RACE-4": "C",
        "RACE-5": "C",
        "RACE-6": "C",
    }


def test_a_classification_and_a_catalogue_upload_of_the_same_products_both_finish(shop):
    rows = [(product.sku, {"name": f"Renamed {product.sku}"}) for product in reversed(shop)]

    outcomes = race(
        partial(services.recompute_classification, actor=SYSTEM),
        partial(inventory.save_products, rows, actor=SYSTEM),
    )

    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert set(Product.objects.values_list("abc_class", flat=True)) == {"A", "B", "C"}
    assert Product.objects.filter(name__startswith="Renamed").count() == 6
