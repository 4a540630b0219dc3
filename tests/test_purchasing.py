"""Suppliers and purchase orders (docs/architecture.md, "Suppliers and purchase orders")."""

from decimal import Decimal

import pytest

from core.actors import SYSTEM
from inventory import selectors, services
from inventory.models import PurchaseOrder
from tests.factories import ProductFactory, SupplierProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def test_a_draft_takes_the_suppliers_costs_and_counts_as_on_order():
    warehouse = WarehouseFactory()
    offer = SupplierProductFactory(unit_cost=Decimal("7.50"))
    other = SupplierProductFactory(supplier=offer.supplier, product=ProductFactory())
    purchase_order = services.create_purchase_order(
        supplier_id=offer.supplier_id,
        warehouse_id=warehouse.pk,
        lines=[(offer.product_id, 12), (other.product_id, 3)],
        actor=SYSTEM,
    )
    assert purchase_order.status == PurchaseOrder.Status.DRAFT
    assert purchase_order.number.startswith("PO")
    assert purchase_order.lines.get(product=offer.product).unit_cost == Decimal("7.50")
    assert selectors.on_order_quantities() == {
        (offer.product_id, warehouse.pk): 12,
        (other.product_id, warehouse.pk): 3,
    }
    assert selectors.on_order_quantities([other.product_id]) == {(other.product_id, warehouse.pk): 3}
