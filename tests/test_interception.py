"""Interception and parcels that come back (docs/architecture.md, "Interception and parcels that
come back"): a coordinator asks the carrier to stop a shipped parcel, records its answer, and the
warehouse receives the parcel back into sellable stock or quarantine, closing the order as
returned with its refund requested."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory.models import StockLevel, StockMovement
from logistics import services as logistics
from logistics.models import Interception, InterceptionSettings, Shipment, TrackingEvent
from orders.models import Order, OrderEvent, Refund
from tests.factories import ProductFactory, WarehouseFactory, advance, place_apart, staff, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def kettle():
    product = ProductFactory(sku="KETTLE", unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(code="WH1"), 20)
    return product


@pytest.fixture
def coordinator():
    return staff("Logistics coordinator")


@pytest.fixture
def operator():
    return staff("Warehouse operator")


def shipped(kettle, quantity=2, **overrides):
    """A card order paid in full, dispatched: its one parcel is on its way."""
    total = kettle.unit_price * quantity
    order = advance(
        place_apart(lines=[(kettle, quantity)], payment_method="card", paid_amount=str(total), **overrides), "shipped"
    )
    return order, order.shipments.get()


def level_of(product):
    return StockLevel.objects.get(product=product)


def report(shipment, status, *, minutes=1):
    return logistics.record_tracking_event(
        shipment.pk,
        status=status,
        occurred_at=timezone.now() - timedelta(minutes=minutes),
        source=TrackingEvent.Source.WEBHOOK,
        actor=SYSTEM,
    )


def intercepted(shipment, coordinator, **outcome):
    interception = logistics.request_interception(
        shipment.pk, reason=Interception.Reason.CANCELLED, note="Customer changed their mind", actor=coordinator
    )
    return logistics.record_interception_outcome(interception.pk, intercepted=True, actor=coordinator, **outcome)


# Requesting -------------------------------------------------------------------------------------


def test_a_coordinator_requests_interception_of_a_shipped_parcel(kettle, coordinator):
    order, shipment = shipped(kettle)

    interception = logistics.request_interception(
        shipment.pk, reason=Interception.Reason.CANCELLED, note="Customer cancelled by phone", actor=coordinator
    )

    assert interception.status == Interception.Status.REQUESTED
    assert interception.requested_by == coordinator
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    event = order.events.get(transition="interception")
    assert "Customer cancelled by phone" in event.reason and event.from_status == event.to_status


def test_the_refund_waits_for_the_parcel_by_default(kettle, coordinator):
    order, shipment = shipped(kettle)

    logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    assert not Refund.objects.filter(order=order).exists()


def test_the_refund_is_requested_at_once_when_the_setting_says_so(kettle, coordinator):
    settings = InterceptionSettings.current()
    settings.refund_waits_for_parcel = False
    settings.save()
    order, shipment = shipped(kettle)

    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    assert interception.refund_waits is False
    refund = Refund.objects.get(order=order)
    assert refund.amount == Decimal("50.00") and refund.status == Refund.Status.REQUESTED
    order.refresh_from_db()
    assert order.refund_due == Decimal("50.00")


def test_interception_refused_after_delivery(kettle, coordinator):
    _order, shipment = shipped(kettle)
    logistics.mark_delivered(shipment.pk, actor=SYSTEM)

    with pytest.raises(TransitionRefused, match="was delivered at"):
        logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)
    assert not Interception.objects.exists()


def test_interception_refused_before_the_parcel_left(kettle, coordinator):
    order = advance(place_apart(lines=[(kettle, 1)]), "packed")

    with pytest.raises(TransitionRefused, match="cancel its order instead"):
        logistics.request_interception(
            order.shipments.get().pk, reason=Interception.Reason.CANCELLED, actor=coordinator
        )


def test_a_second_request_for_one_parcel_is_refused(kettle, coordinator):
    _order, shipment = shipped(kettle)
    logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    with pytest.raises(TransitionRefused, match="was requested at"):
        logistics.request_interception(shipment.pk, reason=Interception.Reason.REFUNDED, actor=coordinator)
    assert Interception.objects.count() == 1


def test_a_request_names_its_reason(kettle, coordinator):
    _order, shipment = shipped(kettle)

    with pytest.raises(ValidationError) as refused:
        logistics.request_interception(shipment.pk, reason="bored", actor=coordinator)
    assert "reason" in refused.value.message_dict


@pytest.mark.parametrize("role", ["Warehouse operator", "Customer service", "Finance"])
def test_only_coordinators_and_managers_request_interception(kettle, role):
    _order, shipment = shipped(kettle)

    with pytest.raises(PermissionDenied):
        logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=staff(role))
    logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=staff("Manager"))


# The carrier's answer ---------------------------------------------------------------------------


def test_an_intercepted_parcel_is_coming_back_with_its_fee(kettle, coordinator):
    _order, shipment = shipped(kettle)

    interception = intercepted(shipment, coordinator, fee="8.50", carrier_reference="LJ-77")

    assert interception.status == Interception.Status.INTERCEPTED
    assert interception.fee == Decimal("8.50") and interception.carrier_reference == "LJ-77"
    assert interception.answered_by == coordinator and interception.answered_at is not None
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RETURNED


def test_an_interception_fee_must_be_money(kettle, coordinator):
    _order, shipment = shipped(kettle)
    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    for fee in ("-1", "abc", "1.234"):
        with pytest.raises(ValidationError) as refused:
            logistics.record_interception_outcome(interception.pk, intercepted=True, fee=fee, actor=coordinator)
        assert "fee" in refused.value.message_dict
    interception.refresh_from_db()
    assert interception.status == Interception.Status.REQUESTED


def test_a_failed_interception_waits_for_a_decision(kettle, coordinator):
    order, shipment = shipped(kettle)
    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.REFUNDED, actor=coordinator)

    interception = logistics.record_interception_outcome(
        interception.pk, intercepted=False, fee="5", note="Already with the courier", actor=coordinator
    )

    assert interception.status == Interception.Status.FAILED and interception.awaits_decision
    assert interception.fee == Decimal("5.00")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    assert "Decide on a return or a refund" in order.events.filter(transition="interception").last().reason

    logistics.decide_after_failed_interception(interception.pk, decision="Return RMA opened", actor=coordinator)

    interception.refresh_from_db()
    assert not interception.awaits_decision and interception.decision == "Return RMA opened"
    with pytest.raises(TransitionRefused, match="was decided at"):
        logistics.decide_after_failed_interception(interception.pk, decision="again", actor=coordinator)


def test_an_answer_is_recorded_once(kettle, coordinator):
    _order, shipment = shipped(kettle)
    interception = intercepted(shipment, coordinator)

    with pytest.raises(TransitionRefused, match="already"):
        logistics.record_interception_outcome(interception.pk, intercepted=False, actor=coordinator)


def test_a_delivery_report_fails_the_interception_and_delivers_the_order(kettle, coordinator):
    order, shipment = shipped(kettle)
    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    report(shipment, TrackingEvent.Status.DELIVERED)

    interception.refresh_from_db()
    assert interception.status == Interception.Status.FAILED and interception.awaits_decision
    assert interception.outcome_note == "Delivered before it could be intercepted."
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED


def test_a_returned_report_confirms_the_interception(kettle, coordinator):
    _order, shipment = shipped(kettle)
    interception = logistics.request_interception(shipment.pk, reason=Interception.Reason.CANCELLED, actor=coordinator)

    report(shipment, TrackingEvent.Status.RETURNED)

    interception.refresh_from_db()
    assert interception.status == Interception.Status.INTERCEPTED
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RETURNED


def test_a_delivery_report_after_the_parcel_was_intercepted_moves_nothing(kettle, coordinator):
    order, shipment = shipped(kettle)
    intercepted(shipment, coordinator)

    report(shipment, TrackingEvent.Status.DELIVERED)

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == Shipment.Status.RETURNED and order.status == Order.Status.SHIPPED


# Receiving back ---------------------------------------------------------------------------------


def test_an_intercepted_parcel_received_back_books_stock_and_closes_the_order(kettle, coordinator, operator):
    order, shipment = shipped(kettle, quantity=3)
    intercepted(shipment, coordinator)
    line = shipment.lines.get()
    assert (level_of(kettle).on_hand, level_of(kettle).quarantined) == (17, 0)

    received = logistics.receive_parcel_back(shipment.pk, counts={line.pk: (2, 1)}, actor=operator)

    assert received.closed == [order] and received.still_out == []
    level = level_of(kettle)
    assert (level.on_hand, level.quarantined) == (19, 1)
    booked = StockMovement.objects.filter(
        stock_level=level, kind__in=[StockMovement.Kind.RETURN, StockMovement.Kind.QUARANTINE]
    )
    assert sorted(booked.values_list("kind", "on_hand_change", "quarantined_change", "reference")) == [
        (StockMovement.Kind.QUARANTINE, 0, 1, order.number),
        (StockMovement.Kind.RETURN, 2, 0, order.number),
    ]
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.RECEIVED_BACK and shipment.received_back_by == operator
    order.refresh_from_db()
    assert order.status == Order.Status.RETURNED and order.returned_at is not None
    assert order.refund_due == Decimal("75.00")
    assert OrderEvent.objects.filter(order=order, to_status=Order.Status.RETURNED, actor=operator).count() == 1


def test_a_parcel_refused_at_the_door_takes_the_same_path(kettle, operator):
    order, shipment = shipped(kettle)
    report(shipment, TrackingEvent.Status.RETURNED)

    logistics.receive_parcel_back(shipment.pk, counts={shipment.lines.get().pk: (2, 0)}, actor=operator)

    order.refresh_from_db()
    assert order.status == Order.Status.RETURNED
    assert Refund.objects.get(order=order).amount == Decimal("50.00")
    assert level_of(kettle).on_hand == 20


def test_an_order_refunded_already_is_not_refunded_twice(kettle, coordinator, operator):
    settings = InterceptionSettings.current()
    settings.refund_waits_for_parcel = False
    settings.save()
    order, shipment = shipped(kettle)
    intercepted(shipment, coordinator)

    logistics.receive_parcel_back(shipment.pk, counts={shipment.lines.get().pk: (2, 0)}, actor=operator)

    assert Refund.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.refund_due == Decimal("50.00")


def test_a_parcel_received_back_twice_is_refused(kettle, coordinator, operator):
    _order, shipment = shipped(kettle)
    intercepted(shipment, coordinator)
    counts = {shipment.lines.get().pk: (2, 0)}
    logistics.receive_parcel_back(shipment.pk, counts=counts, actor=operator)

    with pytest.raises(TransitionRefused, match="was received back at"):
        logistics.receive_parcel_back(shipment.pk, counts=counts, actor=operator)
    assert level_of(kettle).on_hand == 20


def test_a_parcel_on_its_way_is_not_received_back(kettle, operator):
    _order, shipment = shipped(kettle)

    with pytest.raises(TransitionRefused, match="Record what the carrier says first"):
        logistics.receive_parcel_back(shipment.pk, counts={shipment.lines.get().pk: (2, 0)}, actor=operator)


def test_the_units_received_must_add_up_to_what_left(kettle, coordinator, operator):
    _order, shipment = shipped(kettle)
    intercepted(shipment, coordinator)
    line = shipment.lines.get()

    with pytest.raises(ValidationError) as refused:
        logistics.receive_parcel_back(shipment.pk, counts={line.pk: (1, 0)}, actor=operator)
    assert "2 × KETTLE left in this parcel" in refused.value.message_dict["lines[0].quarantined"][0]
    with pytest.raises(ValidationError) as refused:
        logistics.receive_parcel_back(shipment.pk, counts={line.pk: (-1, 3)}, actor=operator)
    assert "lines[0].sellable" in refused.value.message_dict
    assert level_of(kettle).on_hand == 18


@pytest.mark.parametrize("role", ["Logistics coordinator", "Customer service", "Finance"])
def test_only_the_warehouse_receives_parcels_back(kettle, coordinator, role):
    _order, shipment = shipped(kettle)
    intercepted(shipment, coordinator)

    with pytest.raises(PermissionDenied):
        logistics.receive_parcel_back(shipment.pk, counts={shipment.lines.get().pk: (2, 0)}, actor=staff(role))


def test_an_order_with_other_goods_still_out_keeps_its_status(coordinator, operator):
    kettle, mug = ProductFactory(sku="KETTLE"), ProductFactory(sku="MUG")
    stock(kettle, WarehouseFactory(code="WH1"), 5)
    stock(mug, WarehouseFactory(code="WH2"), 5)
    order = advance(place_apart(lines=[(kettle, 1), (mug, 1)]), "shipped")
    first, second = order.shipments.order_by("pk")
    logistics.mark_delivered(second.pk, actor=SYSTEM)
    intercepted(first, coordinator)

    received = logistics.receive_parcel_back(first.pk, counts={first.lines.get().pk: (1, 0)}, actor=operator)

    assert received.closed == [] and received.still_out == [order]
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert "still out" in order.events.get(transition="received_back").reason
