"""Races of orders that change, between real database connections on PostgreSQL (the pattern of
tests/test_concurrency.py): an edit while a pick list takes the order, two operators splitting the
same order. One wins, the other is told clearly, and stock and ledger agree whatever the order."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from logistics import services as logistics
from logistics.models import PickWave, ShipmentLine
from orders import services as orders
from orders.models import Allocation, Order
from tests.factories import ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_concurrency import assert_stock_consistent, fresh, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = Order.Status


@pytest.fixture
def goods():
    warehouse = WarehouseFactory()
    shirt = ProductFactory(unit_price=Decimal("25.00"))
    mug = ProductFactory(unit_price=Decimal("10.00"))
    stock(shirt, warehouse, 10)
    stock(mug, warehouse, 10)
    return warehouse, shirt, mug


def test_an_edit_and_a_pick_list_on_one_order_one_after_the_other(goods):
    warehouse, shirt, mug = goods
    order = place(lines=[(shirt, 2)])
    service = staff("Customer service")
    outcomes = race(
        lambda: orders.edit_order(order.pk, actor=service, add=[orders.LineInput(sku=mug.sku, quantity=3)]),
        lambda: logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM),
    )
    edited, waved = outcomes
    assert isinstance(waved, PickWave), waved
    order = fresh(order)
    assert order.status == Status.PICKING
    picked = dict(ShipmentLine.objects.filter(shipment__order=order).values_list("order_line__sku", "quantity"))
    if isinstance(edited, orders.OrderEdit):
        # The edit came first: the pick list took the order as edited.
        assert picked == {shirt.sku: 2, mug.sku: 3}
    else:
        # The pick list came first: the edit was refused, saying why, and changed nothing.
        assert isinstance(edited, TransitionRefused) and "Picking" in str(edited)
        assert picked == {shirt.sku: 2} and order.lines.count() == 1
    reserved = sum(a.quantity for a in Allocation.objects.filter(line__order=order, state="reserved"))
    assert reserved == sum(picked.values())
    assert_stock_consistent()


def test_two_operators_splitting_one_order_one_wins_the_other_is_told(goods):
    _warehouse, shirt, mug = goods
    order = place(lines=[(shirt, 3), (mug, 2)])
    seen = order.updated_at
    shirt_line = order.lines.get(product=shirt).pk
    first, second = staff("Customer service"), staff("Order reviewer")
    outcomes = race(
        lambda: orders.split_off(order.pk, {shirt_line: 1}, actor=first, seen_updated_at=seen),
        lambda: orders.split_off(order.pk, {shirt_line: 2}, actor=second, seen_updated_at=seen),
    )
    won = [o for o in outcomes if isinstance(o, orders.SplitOff)]
    lost = [o for o in outcomes if not isinstance(o, orders.SplitOff)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], TransitionRefused) and "changed while you were looking" in str(lost[0])
    assert Order.objects.filter(split_from=order).count() == 1
    shirts = sum(
        a.quantity
        for a in Allocation.objects.filter(
            line__product=shirt, state="reserved", line__order__in=[order.pk, won[0].new_order.pk]
        )
    )
    assert shirts == 3
    assert_stock_consistent()


def test_a_split_and_a_ship_later_at_once_leave_the_units_in_one_place(goods):
    _warehouse, shirt, mug = goods
    order = place(lines=[(shirt, 3), (mug, 2)])
    seen = order.updated_at
    shirt_line = order.lines.get(product=shirt).pk
    outcomes = race(
        lambda: orders.split_off(order.pk, {shirt_line: 2}, actor=SYSTEM, seen_updated_at=seen),
        lambda: orders.ship_later(order.pk, {shirt_line: 2}, actor=SYSTEM, seen_updated_at=seen),
    )
    assert sum(not isinstance(o, (TransitionRefused, ValidationError)) for o in outcomes) == 1, outcomes
    assert_stock_consistent()
