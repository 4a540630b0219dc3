"""Interception and parcels coming back raced between real PostgreSQL connections (see
tests/test_concurrency.py for `race`): an interception request against a delivery report arriving
at the same moment, one wins and nothing is counted twice; a parcel received back at two stations
at once is booked into stock once."""

from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory.models import StockMovement
from logistics import services as logistics
from logistics.models import Interception, InterceptionSettings, Shipment, TrackingEvent
from orders.models import Order, Refund
from tests.factories import ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import assert_stock_consistent, fresh, quantities, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def level():
    return stock(ProductFactory(unit_price=Decimal("30.00")), WarehouseFactory(), 50)


@pytest.fixture(autouse=True)
def interception_settings():
    """The settings row exists before any race, as on every running shop; the refund is asked for
    at once, so a request that won would show as a refund."""
    settings = InterceptionSettings.current()
    settings.refund_waits_for_parcel = False
    settings.save()
    return settings


def shipped_parcel(level):
    order = place_apart(lines=[(level.product, 2)], payment_method="card", paid_amount="60.00")
    return advance(order, "shipped").shipments.get()


def delivery_report(shipment):
    return logistics.record_tracking_event(
        shipment.pk,
        status=TrackingEvent.Status.DELIVERED,
        occurred_at=timezone.now() - timedelta(minutes=1),
        source=TrackingEvent.Source.WEBHOOK,
        actor=SYSTEM,
    )


@pytest.mark.parametrize("rounds", [6])
def test_an_interception_request_racing_a_delivery_report_one_wins_and_nothing_counts_twice(level, rounds):
    coordinator = staff("Logistics coordinator")
    for _round in range(rounds):
        shipment = shipped_parcel(level)

        requested, _delivered = race(
            partial(
                logistics.request_interception,
                shipment.pk,
                reason=Interception.Reason.CANCELLED,
                actor=coordinator,
            ),
            partial(delivery_report, shipment),
        )

        shipment.refresh_from_db()
        order = fresh(shipment.order)
        assert shipment.status == Shipment.Status.DELIVERED
        assert order.status == Order.Status.DELIVERED
        assert order.events.filter(to_status=Order.Status.DELIVERED).exclude(transition="interception").count() == 1
        assert TrackingEvent.objects.filter(shipment=shipment).count() == 1
        if isinstance(requested, Interception):
            # The request came first: the delivery that followed failed it, and the refund asked
            # for at once now waits on the order's decision.
            interception = Interception.objects.get(shipment=shipment)
            assert interception.status == Interception.Status.FAILED and interception.awaits_decision
            assert Refund.objects.filter(order=order).count() == 1
        else:
            # The delivery came first: the request was told, and nothing was written for it.
            assert isinstance(requested, TransitionRefused) and "was delivered at" in str(requested)
            assert not Interception.objects.filter(shipment=shipment).exists()
            assert not Refund.objects.filter(order=order).exists()
    assert_stock_consistent()


def test_a_parcel_received_back_at_two_stations_at_once_is_booked_once(level):
    shipment = shipped_parcel(level)
    coordinator = staff("Logistics coordinator")
    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)
    logistics.record_interception_outcome(interception.pk, intercepted=True, actor=coordinator)
    counts = {shipment.lines.get().pk: (2, 0)}
    operators = [staff("Warehouse operator") for _index in range(2)]

    outcomes = race(
        *(partial(logistics.receive_parcel_back, shipment.pk, counts=counts, actor=operator) for operator in operators)
    )

    received, refused = split(outcomes, logistics.ReceivedBack)
    assert len(received) == 1 and len(refused) == 1
    assert isinstance(refused[0], TransitionRefused) and "was received back at" in str(refused[0])
    assert quantities(level) == (50, 0)
    assert StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.RETURN).count() == 1
    order = fresh(shipment.order)
    assert order.status == Order.Status.RETURNED
    assert order.events.filter(to_status=Order.Status.RETURNED).count() == 1
    assert Refund.objects.filter(order=order).count() == 1 and order.refund_due == Decimal("60.00")
    assert_stock_consistent()
