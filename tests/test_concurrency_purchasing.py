"""Receiving one purchase-order line twice at once, on real PostgreSQL connections
(docs/architecture.md, "Lock order"): both receipts lock the purchase order, then its lines, so the
second sees the first. Whichever is served first, the units are booked once, the line counts them
once, the ledger sums and the average cost counts each receipt once."""

from decimal import Decimal

import pytest

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import services
from inventory.models import PurchaseOrder, PurchaseOrderLine, StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, SupplierProductFactory, WarehouseFactory, staff
from tests.test_concurrency import race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sent_order(quantity):
    warehouse = WarehouseFactory()
    offer = SupplierProductFactory(product=ProductFactory(cost=Decimal("0")), unit_cost=Decimal("4.00"))
    purchase_order = services.create_purchase_order(
        supplier_id=offer.supplier_id, warehouse_id=warehouse.pk, lines=[(offer.product_id, quantity)], actor=SYSTEM
    )
    return services.send_purchase_order(purchase_order.pk, actor=SYSTEM), offer, warehouse


def test_receiving_a_whole_line_twice_at_once_books_it_once():
    purchase_order, offer, warehouse = sent_order(10)
    line = purchase_order.lines.get()
    operators = [staff("Warehouse operator"), staff("Warehouse operator")]

    def receive(operator):
        return lambda: services.receive_purchase_order(
            purchase_order.pk, [services.LineReceipt(line.pk, good=10)], actor=operator
        )

    outcomes = race(receive(operators[0]), receive(operators[1]))

    received, refused = split(outcomes, PurchaseOrder)
    assert len(received) == 1
    # The second finds the order received in full: nothing more is taken in against it.
    assert len(refused) == 1 and isinstance(refused[0], TransitionRefused)
    assert "is Received now" in str(refused[0])
    line = PurchaseOrderLine.objects.get(pk=line.pk)
    assert (line.quantity_received, line.quantity_damaged) == (10, 0)
    level = StockLevel.objects.get(product=offer.product, warehouse=warehouse)
    assert level.on_hand == 10
    assert StockMovement.objects.filter(purchase_order_line=line).count() == 1
    assert PurchaseOrder.objects.get(pk=purchase_order.pk).status == PurchaseOrder.Status.RECEIVED
    assert list(ledger_mismatches()) == []


def test_receiving_more_than_is_left_twice_at_once_refuses_the_second_without_a_reason():
    purchase_order, offer, warehouse = sent_order(10)
    line = purchase_order.lines.get()

    def receive():
        return services.receive_purchase_order(purchase_order.pk, [services.LineReceipt(line.pk, good=6)], actor=SYSTEM)

    outcomes = race(receive, receive)

    received, refused = split(outcomes, PurchaseOrder)
    assert len(received) == 1
    assert "12 units would have arrived against 10 ordered" in refused[0].message_dict["reason"][0]
    assert StockLevel.objects.get(product=offer.product, warehouse=warehouse).on_hand == 6
    assert PurchaseOrderLine.objects.get(pk=line.pk).quantity_received == 6


def test_two_partial_receipts_at_once_both_count_and_the_cost_averages_once_each():
    purchase_order, offer, warehouse = sent_order(10)
    line = purchase_order.lines.get()

    def receive(good, damaged):
        return lambda: services.receive_purchase_order(
            purchase_order.pk, [services.LineReceipt(line.pk, good=good, damaged=damaged)], actor=SYSTEM
        )

    outcomes = race(receive(4, 0), receive(3, 1))

    assert all(isinstance(outcome, PurchaseOrder) for outcome in outcomes), outcomes
    line = PurchaseOrderLine.objects.get(pk=line.pk)
    assert (line.quantity_received, line.quantity_damaged) == (7, 1)
    level = StockLevel.objects.get(product=offer.product, warehouse=warehouse)
    assert (level.on_hand, level.quarantined) == (7, 1)
    assert PurchaseOrder.objects.get(pk=purchase_order.pk).status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    offer.product.refresh_from_db()
    assert offer.product.cost == Decimal("4.00")
    assert list(ledger_mismatches()) == []
