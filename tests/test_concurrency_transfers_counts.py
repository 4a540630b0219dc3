"""Races on PostgreSQL between real connections (docs/architecture.md, "Transfers between
warehouses", "Stock counts"): a transfer sent, or a count's variance booked, while an order reserves
the same stock. Whichever goes first, reserved never exceeds on hand and the ledger sums."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.actors import SYSTEM
from inventory import services
from inventory.models import CountSession, StockLevel, Transfer
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, order_input, stock
from tests.test_concurrency import assert_stock_consistent, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def place_for(product, quantity):
    def call():
        from orders import services as orders

        return orders.place_order(order_input(lines=[(product, quantity)]), actor=SYSTEM).order

    return call


@pytest.fixture
def last_units():
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    tea = ProductFactory(sku="TEA", cost=Decimal("30.00"))
    level = stock(tea, north, 10, bin_location="A-1")
    return north, south, tea, level


@pytest.mark.parametrize("attempt", range(3))
def test_a_transfer_sent_while_an_order_reserves_the_same_units(last_units, attempt):
    north, south, tea, level = last_units
    transfer = services.create_transfer(source_id=north.pk, destination_id=south.pk, lines=[(tea.pk, 6)], actor=SYSTEM)

    sent, placed = race(lambda: services.send_transfer(transfer.pk, actor=SYSTEM), place_for(tea, 6))

    assert isinstance(placed, Order)
    level.refresh_from_db()
    transfer.refresh_from_db()
    if isinstance(sent, Transfer):
        assert transfer.status == Transfer.Status.IN_TRANSIT
        assert (level.on_hand, level.reserved) == (4, 0)
        assert placed.status == Order.Status.ON_HOLD
    else:
        assert isinstance(sent, ValidationError) and "TEA: 4 available of 6" in str(sent)
        assert transfer.status == Transfer.Status.DRAFT
        assert (level.on_hand, level.reserved) == (10, 6)
    assert_stock_consistent()


@pytest.mark.parametrize("attempt", range(3))
def test_a_count_variance_booked_while_an_order_reserves_the_same_units(last_units, attempt):
    north, _south, tea, level = last_units
    session = services.open_count_session(warehouse_id=north.pk, scope="bins", bins=["A-1"], actor=SYSTEM)
    services.count_by_scan(session.pk, code="TEA", quantity=4, actor=SYSTEM)
    assert services.finish_count(session.pk, actor=SYSTEM).status == CountSession.Status.AWAITING_APPROVAL

    approved, placed = race(lambda: services.approve_count(session.pk, actor=SYSTEM), place_for(tea, 6))

    assert isinstance(placed, Order)
    level.refresh_from_db()
    session.refresh_from_db()
    if isinstance(approved, CountSession):
        assert session.status == CountSession.Status.BOOKED
        assert (level.on_hand, level.reserved) == (4, 0)
        assert placed.status == Order.Status.ON_HOLD
    else:
        assert isinstance(approved, ValidationError) and "below the 6 units reserved" in str(approved)
        assert session.status == CountSession.Status.AWAITING_APPROVAL
        assert (level.on_hand, level.reserved) == (10, 6)
    assert_stock_consistent()


def test_two_sessions_opened_at_once_never_count_one_shelf(last_units):
    north = last_units[0]
    outcomes = race(*[lambda: services.open_count_session(warehouse_id=north.pk, scope="warehouse", actor=SYSTEM)] * 2)
    opened = [outcome for outcome in outcomes if isinstance(outcome, CountSession)]
    assert len(opened) == 1, outcomes
    assert all(isinstance(outcome, ValidationError) for outcome in outcomes if outcome not in opened)
    assert StockLevel.objects.get().count_lines.filter(live=True).count() == 1
