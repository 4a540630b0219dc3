"""Races between real database connections on PostgreSQL: each racer is a thread with its own
connection, and a barrier releases them together. Whichever racer the database serves first, the
assertions below must hold, so the tests pass in every interleaving and never depend on timing."""

import threading
from collections import Counter
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import F, Q

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Allocation, Customer, IntakeSettings, Order, OrderEvent
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    order_input,
    place,
    staff,
    stock,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = Order.Status
RACE_TIMEOUT = 60


def race(*calls):
    """Run every call at the same moment, each in its own thread with its own connection. Returns
    what each call returned, or the exception it raised, in the order of `calls`."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            connection.ensure_connection()
            barrier.wait(RACE_TIMEOUT)
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 - the test inspects what each racer met
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racer is still waiting: deadlock?"
    return outcomes


def split(outcomes, success_type):
    successes = [o for o in outcomes if isinstance(o, success_type)]
    others = [o for o in outcomes if not isinstance(o, success_type)]
    return successes, others


def assert_stock_consistent():
    assert list(ledger_mismatches()) == []
    assert not StockLevel.objects.filter(Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))).exists()


def fresh(order):
    return Order.objects.get(pk=order.pk)


def quantities(level):
    level.refresh_from_db()
    return level.on_hand, level.reserved


@pytest.fixture(autouse=True)
def intake_settings():
    """The settings row exists before any race, as on every running shop."""
    return IntakeSettings.current()


def test_twenty_buyers_racing_for_the_last_five_units_get_exactly_five_confirmed_orders():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    channel = ChannelFactory()
    buyers = [
        order_input(
            channel, lines=[(product, 1)], recipient=f"买家 {n}", phone=f"1390000{n:04d}", address=f"文三路 {n + 1} 号"
        )
        for n in range(20)
    ]

    outcomes = race(*[partial(orders.place_order, data, actor=SYSTEM) for data in buyers])

    results, errors = split(outcomes, orders.PlacementResult)
    assert errors == []
    assert all(result.created for result in results)
    assert Counter(Order.objects.values_list("status", flat=True)) == {Status.CONFIRMED: 5, Status.ON_HOLD: 15}
    for order in Order.objects.filter(status=Status.ON_HOLD):
        assert [reason["code"] for reason in order.hold_reasons] == ["out_of_stock"]
        assert not Allocation.objects.filter(line__order=order).exists()
    for order in Order.objects.filter(status=Status.CONFIRMED):
        assert Allocation.objects.get(line__order=order).quantity == 1
    assert quantities(level) == (5, 5)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.RESERVATION).count() == 5
    assert_stock_consistent()


def held_order_with_stock():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 2)], city="", district="")
    assert order.status == Status.ON_HOLD
    return order, level


def test_approve_and_reject_of_one_held_order_at_once_one_wins_and_the_other_is_told():
    order, level = held_order_with_stock()
    first, second = staff("Order reviewer"), staff("Order reviewer")

    outcomes = race(
        lambda: orders.approve(order.pk, actor=first),
        lambda: orders.reject(order.pk, actor=second, reason="looks fake"),
    )

    events, refusals = split(outcomes, OrderEvent)
    assert len(events) == 1
    assert len(refusals) == 1 and isinstance(refusals[0], TransitionRefused)
    final = fresh(order)
    assert order.number in str(refusals[0])
    assert final.get_status_display() in str(refusals[0])
    assert final.status == events[0].to_status
    assert final.events.count() == 2
    if final.status == Status.CONFIRMED:
        assert quantities(level) == (5, 2)
        assert Allocation.objects.get(line__order=order).state == Allocation.State.RESERVED
    else:
        assert final.status == Status.CANCELLED
        assert quantities(level) == (5, 0)
        assert not Allocation.objects.exists()
    assert_stock_consistent()


def test_approve_and_cancel_of_one_held_order_at_once_one_wins_and_the_other_is_told():
    """Both operators act on the held order they see on screen; whoever comes second is told the
    order changed instead of cancelling an order just approved (or approving a cancelled one)."""
    order, level = held_order_with_stock()
    reviewer, service = staff("Order reviewer"), staff("Customer service")

    outcomes = race(
        lambda: orders.approve(order.pk, actor=reviewer, expected_status=Status.ON_HOLD),
        lambda: orders.cancel(order.pk, actor=service, reason="customer asked", expected_status=Status.ON_HOLD),
    )

    events, refusals = split(outcomes, OrderEvent)
    assert len(events) == 1
    assert len(refusals) == 1 and isinstance(refusals[0], TransitionRefused)
    final = fresh(order)
    assert order.number in str(refusals[0]) and final.get_status_display() in str(refusals[0])
    assert final.status == events[0].to_status
    assert list(final.events.values_list("to_status", flat=True)) == [Status.ON_HOLD, final.status]
    if final.status == Status.CONFIRMED:
        assert quantities(level) == (5, 2)
    else:
        assert final.status == Status.CANCELLED
        assert quantities(level) == (5, 0)
    assert_stock_consistent()


def test_two_cancels_of_one_confirmed_order_at_once_release_its_stock_exactly_once():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 3)])
    first, second = staff("Customer service"), staff("Manager")

    outcomes = race(
        lambda: orders.cancel(order.pk, actor=first, reason="customer asked"),
        lambda: orders.cancel(order.pk, actor=second, reason="duplicate"),
    )

    events, refusals = split(outcomes, OrderEvent)
    assert len(events) == 1
    assert len(refusals) == 1 and isinstance(refusals[0], TransitionRefused)
    assert order.number in str(refusals[0])
    assert fresh(order).status == Status.CANCELLED
    assert fresh(order).events.filter(to_status=Status.CANCELLED).count() == 1
    assert quantities(level) == (5, 0)
    release = StockMovement.objects.get(kind=StockMovement.Kind.RELEASE)
    assert release.reserved_change == -3
    assert_stock_consistent()


def test_ten_copies_of_one_channel_order_at_once_make_one_order():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 50)
    channel = ChannelFactory()
    copies = [order_input(channel, lines=[(product, 2)], channel_order_id="WEB-RETRY-1") for _copy in range(10)]

    outcomes = race(*[partial(orders.place_order, data, actor=SYSTEM) for data in copies])

    results, errors = split(outcomes, orders.PlacementResult)
    assert errors == []
    assert sorted(result.created for result in results) == [False] * 9 + [True]
    order = Order.objects.get()
    assert {result.order.pk for result in results} == {order.pk}
    assert order.status == Status.CONFIRMED
    assert Customer.objects.count() == 1
    assert quantities(level) == (50, 2)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.RESERVATION).count() == 1
    assert_stock_consistent()


def test_two_dispatches_of_one_packed_parcel_at_once_ship_it_once():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    operator = staff("Warehouse operator")
    order = advance(place(lines=[(product, 2)]), "packed", actor=operator)
    parcel = order.shipments.get()
    carrier = CarrierFactory()

    def dispatch(tracking):
        return logistics.dispatch(parcel.pk, carrier_id=carrier.pk, tracking_number=tracking, actor=operator)

    outcomes = race(partial(dispatch, "SF5550000000020"), partial(dispatch, "SF5550000000021"))

    shipments, refusals = split(outcomes, Shipment)
    assert len(shipments) == 1
    assert len(refusals) == 1 and isinstance(refusals[0], TransitionRefused)
    assert str(Shipment.Status.SHIPPED.label) in str(refusals[0])
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (Shipment.Status.SHIPPED, shipments[0].tracking_number)
    assert fresh(order).status == Status.SHIPPED
    assert fresh(order).events.filter(to_status=Status.SHIPPED).count() == 1
    assert quantities(level) == (3, 0)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SHIPMENT).count() == 1
    assert_stock_consistent()


def test_two_orders_dispatched_at_once_under_one_tracking_number_get_one_shipment_and_a_clear_refusal():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    operator = staff("Warehouse operator")
    first = advance(place(lines=[(product, 1)]), "packed", actor=operator)
    second = advance(place(lines=[(product, 1)], phone="13900000002", address="文二路 2 号"), "packed", actor=operator)
    carrier = CarrierFactory()

    def dispatch(order):
        return logistics.dispatch(
            order.shipments.get().pk, carrier_id=carrier.pk, tracking_number="SF5550000000022", actor=operator
        )

    outcomes = race(partial(dispatch, first), partial(dispatch, second))

    shipments, refusals = split(outcomes, Shipment)
    assert len(shipments) == 1
    assert len(refusals) == 1 and isinstance(refusals[0], ValidationError)
    assert list(refusals[0].message_dict) == ["tracking_number"]
    shipped, waiting = (first, second) if shipments[0].order_id == first.pk else (second, first)
    assert (fresh(shipped).status, fresh(waiting).status) == (Status.SHIPPED, Status.PACKED)
    assert quantities(level) == (4, 1)
    assert_stock_consistent()


def test_a_stock_correction_racing_a_buyer_for_the_same_units_never_oversells():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    data = order_input(lines=[(product, 5)])

    placement, correction = race(
        partial(orders.place_order, data, actor=SYSTEM),
        lambda: inventory.adjust(stock_level_id=level.pk, change=-3, reason="water damage", actor=SYSTEM),
    )

    order = placement.order
    if isinstance(correction, ValidationError):
        assert order.status == Status.CONFIRMED
        assert quantities(level) == (5, 5)
    else:
        assert order.status == Status.ON_HOLD
        assert [reason["code"] for reason in order.hold_reasons] == ["out_of_stock"]
        assert quantities(level) == (2, 0)
    assert_stock_consistent()
