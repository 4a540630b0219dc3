"""Dispatch and tracking raced between real PostgreSQL connections (see tests/test_concurrency.py for
`race`): whichever racer is served first, a parcel leaves once, its stock leaves the books once, a
sheet is applied whole or not at all, and a report is recorded once."""

from functools import partial

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory.models import StockMovement
from logistics import services as logistics
from logistics.models import Shipment, TrackingEvent
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_concurrency import assert_stock_consistent, fresh, quantities, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def level():
    return stock(ProductFactory(), WarehouseFactory(), 10)


def signed_in_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_two_operators_dispatching_one_parcel_from_the_console_at_once_ship_it_once(level):
    order = advance(place(lines=[(level.product, 3)]), "packed")
    parcel = order.shipments.get()
    carrier = CarrierFactory()
    url = reverse("admin:logistics_shipment_dispatch", args=[order.pk])
    operators = [signed_in_client(staff("Warehouse operator")) for _index in range(2)]

    def hand_over(client, tracking_number):
        prefix = f"parcel-{parcel.pk}"
        response = client.post(
            url, {"shipment": parcel.pk, f"{prefix}-carrier": carrier.pk, f"{prefix}-tracking_number": tracking_number}
        )
        return response.status_code

    outcomes = race(
        partial(hand_over, operators[0], "SF5550000000013"), partial(hand_over, operators[1], "SF5550000000019")
    )

    assert sorted(outcomes) == [200, 302]
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.SHIPPED
    assert parcel.tracking_number == ("SF5550000000013" if outcomes[0] == 302 else "SF5550000000019")
    assert fresh(order).events.filter(to_status=Order.Status.SHIPPED).count() == 1
    assert quantities(level) == (7, 0)
    assert StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.SHIPMENT).count() == 1
    assert_stock_consistent()


def test_two_sheets_naming_the_same_orders_in_opposite_order_apply_one_whole_sheet(level):
    first, second = (advance(place(lines=[(level.product, 2)]), "packed") for _index in range(2))
    coordinator = staff("Logistics coordinator")
    carrier = CarrierFactory()

    def sheet(prefix, orders_in_order):
        rows = [
            {
                "row": index + 2,
                "order_number": order.number,
                "carrier": carrier.code,
                "tracking_number": f"SF{prefix}{index:012d}",
            }
            for index, order in enumerate(orders_in_order)
        ]
        return partial(logistics.dispatch_by_upload, rows, actor=coordinator)

    outcomes = race(sheet(1, [first, second]), sheet(2, [second, first]))

    applied, refused = split(outcomes, list)
    assert len(applied) == 1 and len(refused) == 1
    assert isinstance(refused[0], logistics.UploadRefused)
    numbers = set(Shipment.objects.values_list("tracking_number", flat=True))
    prefix = applied[0][0].tracking_number[2]
    assert numbers == {f"SF{prefix}{0:012d}", f"SF{prefix}{1:012d}"}
    assert (fresh(first).status, fresh(second).status) == (Order.Status.SHIPPED, Order.Status.SHIPPED)
    assert quantities(level) == (6, 0)
    assert_stock_consistent()


def test_a_sheet_racing_a_single_dispatch_of_one_of_its_orders_is_applied_whole_or_not_at_all(level):
    first, second = (advance(place(lines=[(level.product, 1)]), "packed") for _index in range(2))
    coordinator, operator = staff("Logistics coordinator"), staff("Warehouse operator")
    carrier = CarrierFactory()
    rows = [
        {"row": 2, "order_number": first.number, "carrier": "sf", "tracking_number": "SF5580000000001"},
        {"row": 3, "order_number": second.number, "carrier": "sf", "tracking_number": "SF5580000000002"},
    ]

    outcomes = race(
        partial(logistics.dispatch_by_upload, rows, actor=coordinator),
        partial(
            logistics.dispatch,
            second.shipments.get().pk,
            carrier_id=carrier.pk,
            tracking_number="SF5580000000003",
            actor=operator,
        ),
    )

    sheet_outcome, hand_outcome = outcomes
    if isinstance(sheet_outcome, list):
        assert isinstance(hand_outcome, TransitionRefused)
        assert set(Shipment.objects.values_list("tracking_number", flat=True)) == {"SF5580000000001", "SF5580000000002"}
    else:
        assert isinstance(sheet_outcome, logistics.UploadRefused) and isinstance(hand_outcome, Shipment)
        assert fresh(first).status == Order.Status.PACKED
        assert first.shipments.get().tracking_number == ""
    assert quantities(level) == (
        10 - Shipment.objects.filter(status=Shipment.Status.SHIPPED).count(),
        Shipment.objects.filter(status=Shipment.Status.PACKED).count(),
    )
    assert_stock_consistent()


def test_one_report_sent_twice_at_once_is_recorded_once(level):
    order = advance(place(lines=[(level.product, 1)]), "shipped")
    parcel = order.shipments.get()
    when = timezone.now()

    def report():
        return logistics.record_tracking_event(
            parcel.pk, status="delivered", occurred_at=when, source=TrackingEvent.Source.WEBHOOK, actor=SYSTEM
        )

    outcomes = race(report, report)

    assert sorted(created for _event, created in outcomes) == [False, True]
    assert TrackingEvent.objects.filter(shipment=parcel).count() == 1
    assert fresh(order).events.filter(to_status=Order.Status.DELIVERED).count() == 1
