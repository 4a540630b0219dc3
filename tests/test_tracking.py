"""Dispatch and tracking: what dispatching does to stock, how tracking events move a parcel and its
order, the expected delivery day, the console pages for tracking numbers and events, and the
delivery-exceptions queue."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from inventory.models import StockMovement
from inventory.selectors import ledger_mismatches
from logistics import selectors, services
from logistics.models import Shipment, TrackingEvent
from orders.models import Order
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db

Status = TrackingEvent.Status


@pytest.fixture
def level():
    return stock(ProductFactory(), WarehouseFactory(), 10, bin_location="A-01")


@pytest.fixture
def shipped(level):
    """A shipped order with its one parcel."""
    order = advance(place(lines=[(level.product, 3)]), "shipped")
    return order, order.shipments.get()


def report(shipment, status, when, **extra):
    return services.record_tracking_event(
        shipment.pk, status=status, occurred_at=when, source=TrackingEvent.Source.WEBHOOK, actor=SYSTEM, **extra
    )


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def fresh(instance):
    instance.refresh_from_db()
    return instance


# Dispatch ---------------------------------------------------------------------------------------


def test_dispatch_takes_the_stock_out_of_on_hand_and_reserved_through_the_ledger(level):
    order = advance(place(lines=[(level.product, 3)]), "packed")
    assert (fresh(level).on_hand, level.reserved) == (10, 3)
    parcel = order.shipments.get()

    services.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number="SF5550000000041", actor=SYSTEM)

    assert (fresh(level).on_hand, level.reserved) == (7, 0)
    movement = StockMovement.objects.filter(stock_level=level).latest("pk")
    assert (movement.on_hand_change, movement.reserved_change, movement.reference) == (-3, -3, order.number)
    assert not ledger_mismatches().exists()
    assert (fresh(parcel).status, fresh(order).status) == (Shipment.Status.SHIPPED, Order.Status.SHIPPED)


def test_dispatch_refuses_a_parcel_without_a_tracking_number_and_ships_nothing(level):
    order = advance(place(lines=[(level.product, 3)]), "packed")
    parcel = order.shipments.get()

    with pytest.raises(ValidationError) as refused:
        services.dispatch(parcel.pk, actor=SYSTEM)

    assert "tracking_number" in refused.value.message_dict
    assert (fresh(level).on_hand, level.reserved) == (10, 3)
    assert fresh(parcel).status == Shipment.Status.PACKED


def test_expected_delivery_is_the_services_transit_days_counted_in_working_days(level, monkeypatch):
    service = CarrierServiceFactory(transit_days=3, supports_cod=True)
    order = advance(place(lines=[(level.product, 1)]), "packed")
    parcel = order.shipments.get()
    assert parcel.service == service
    friday_morning = timezone.make_aware(datetime(2025, 3, 7, 10, 0))
    monkeypatch.setattr(timezone, "now", lambda: friday_morning)

    services.dispatch(parcel.pk, tracking_number="SF5550000000042", actor=SYSTEM)

    assert fresh(parcel).expected_delivery_on == date(2025, 3, 12)


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (date(2025, 3, 7), 3, date(2025, 3, 12)),  # Friday: Monday, Tuesday, Wednesday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Saturday: the next Monday
        (date(2025, 3, 10), 5, date(2025, 3, 17)),  # Monday: a full working week later
        (date(2025, 3, 10), 0, date(2025, 3, 10)),
    ],
)
def test_working_days_skip_weekends(start, days, expected):
    assert services.add_working_days(start, days) == expected


# Tracking events --------------------------------------------------------------------------------


def test_events_move_the_parcel_along_and_remember_the_latest(shipped):
    _order, parcel = shipped

    report(parcel, Status.IN_TRANSIT, ago(hours=5), location="杭州转运中心")
    assert fresh(parcel).status == Shipment.Status.IN_TRANSIT
    latest = ago(hours=1)
    report(parcel, Status.OUT_FOR_DELIVERY, latest)

    assert (fresh(parcel).status, parcel.last_event_at) == (Shipment.Status.OUT_FOR_DELIVERY, latest)
    assert list(parcel.events.values_list("status", flat=True)) == [Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY]


def test_an_exception_is_kept_with_its_kind_and_cleared_when_the_parcel_moves_on(shipped):
    _order, parcel = shipped

    report(parcel, Status.EXCEPTION, ago(hours=3), exception_kind="address_problem")
    assert (fresh(parcel).status, parcel.exception_kind) == (Shipment.Status.EXCEPTION, "address_problem")
    report(parcel, Status.IN_TRANSIT, ago(hours=1))

    assert (fresh(parcel).status, parcel.exception_kind) == (Shipment.Status.IN_TRANSIT, "")


def test_an_exception_without_its_kind_is_refused(shipped):
    _order, parcel = shipped

    with pytest.raises(ValidationError) as refused:
        report(parcel, Status.EXCEPTION, ago(hours=1))

    assert "exception_kind" in refused.value.message_dict
    assert not parcel.events.exists()


def test_an_older_event_arriving_late_does_not_move_the_parcel_back(shipped):
    _order, parcel = shipped
    report(parcel, Status.OUT_FOR_DELIVERY, ago(hours=1))

    event, created = report(parcel, Status.IN_TRANSIT, ago(hours=6))

    assert created
    assert fresh(parcel).status == Shipment.Status.OUT_FOR_DELIVERY
    assert parcel.events.count() == 2


def test_a_delivery_report_delivers_even_when_it_arrives_after_a_later_report(shipped):
    order, parcel = shipped
    report(parcel, Status.EXCEPTION, ago(hours=1), exception_kind="delayed")

    report(parcel, Status.DELIVERED, ago(hours=2))

    assert (fresh(parcel).status, fresh(order).status) == (Shipment.Status.DELIVERED, Order.Status.DELIVERED)


def test_the_same_report_twice_is_recorded_once_and_moves_nothing_the_second_time(shipped):
    _order, parcel = shipped
    when = ago(hours=2)
    report(parcel, Status.IN_TRANSIT, when)
    report(parcel, Status.OUT_FOR_DELIVERY, ago(hours=1))

    event, created = report(parcel, Status.IN_TRANSIT, when)

    assert not created
    assert parcel.events.count() == 2
    assert fresh(parcel).status == Shipment.Status.OUT_FOR_DELIVERY


def test_the_order_is_delivered_only_when_every_parcel_is(level):
    product = level.product
    stock(product, WarehouseFactory(), 5)
    order = advance(place(lines=[(product, 12)]), "shipped")
    first, second = order.shipments.order_by("pk")

    report(first, Status.DELIVERED, ago(hours=2))
    assert fresh(order).status == Order.Status.SHIPPED

    report(second, Status.DELIVERED, ago(hours=1))
    assert fresh(order).status == Order.Status.DELIVERED
    assert (fresh(first).status, fresh(second).status) == (Shipment.Status.DELIVERED, Shipment.Status.DELIVERED)


def test_a_parcel_that_has_not_left_takes_no_tracking_events(level):
    order = advance(place(lines=[(level.product, 1)]), "packed")
    parcel = order.shipments.get()

    with pytest.raises(Exception, match="has not left the warehouse"):
        report(parcel, Status.IN_TRANSIT, ago(hours=1))

    assert not parcel.events.exists()


def test_a_role_without_the_tracking_permission_records_no_event(shipped):
    _order, parcel = shipped

    with pytest.raises(PermissionDenied):
        services.record_tracking_event(
            parcel.pk,
            status=Status.IN_TRANSIT,
            occurred_at=ago(hours=1),
            source=TrackingEvent.Source.CONSOLE,
            actor=staff("Warehouse operator"),
        )

    assert not parcel.events.exists()


# Console: tracking number ahead of dispatch, events by hand ------------------------------------


def test_a_coordinator_enters_the_tracking_number_of_a_packed_parcel_and_dispatch_uses_it(client, level):
    order = advance(place(lines=[(level.product, 1)]), "packed")
    parcel = order.shipments.get()
    carrier = CarrierFactory()
    client.force_login(staff("Logistics coordinator"))
    url = reverse("admin:logistics_shipment_tracking_number", args=[parcel.pk])

    response = client.post(url, {"carrier": carrier.pk, "tracking_number": "SF5550000000009"})

    assert response.url == reverse("admin:logistics_shipment_change", args=[parcel.pk])
    assert (fresh(parcel).tracking_number, parcel.carrier, parcel.status) == (
        "SF5550000000009",
        carrier,
        Shipment.Status.PACKED,
    )
    services.dispatch(parcel.pk, actor=SYSTEM)
    assert fresh(parcel).status == Shipment.Status.SHIPPED


def test_a_tracking_number_cannot_change_once_the_parcel_has_left(client, shipped):
    _order, parcel = shipped
    before = parcel.tracking_number
    client.force_login(staff("Logistics coordinator"))

    response = client.post(
        reverse("admin:logistics_shipment_tracking_number", args=[parcel.pk]),
        {"carrier": parcel.carrier_id, "tracking_number": "SF5550000000014"},
    )

    assert response.status_code == 200
    assert "has already left" in " ".join(response.context["form"].non_field_errors())
    assert fresh(parcel).tracking_number == before


def test_an_event_entered_by_hand_moves_the_parcel(client, shipped):
    order, parcel = shipped
    coordinator = staff("Logistics coordinator")
    client.force_login(coordinator)
    when = timezone.localtime(ago(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("admin:logistics_shipment_tracking_event", args=[parcel.pk]),
        {
            "status": "exception",
            "exception_kind": "damaged",
            "occurred_at": when,
            "location": "上海",
            "description": "外箱破损",
        },
    )

    assert response.url == reverse("admin:logistics_shipment_change", args=[parcel.pk])
    event = parcel.events.get()
    assert (event.status, event.exception_kind, event.source, event.recorded_by) == (
        "exception",
        "damaged",
        TrackingEvent.Source.CONSOLE,
        coordinator,
    )
    assert fresh(parcel).status == Shipment.Status.EXCEPTION


def test_an_exception_entered_without_its_kind_is_refused_on_the_kind_field(client, shipped):
    _order, parcel = shipped
    client.force_login(staff("Logistics coordinator"))

    response = client.post(
        reverse("admin:logistics_shipment_tracking_event", args=[parcel.pk]),
        {
            "status": "exception",
            "exception_kind": "",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["exception_kind"]
    assert not parcel.events.exists()


def test_the_shipment_page_offers_the_tracking_tools_the_role_may_use(client, shipped):
    _order, parcel = shipped
    page = reverse("admin:logistics_shipment_change", args=[parcel.pk])
    event_url = reverse("admin:logistics_shipment_tracking_event", args=[parcel.pk])

    client.force_login(staff("Logistics coordinator"))
    coordinator_page = client.get(page).content.decode()
    client.force_login(staff("Customer service"))
    service_page = client.get(page).content.decode()

    assert event_url in coordinator_page and "Mark delivered" in coordinator_page
    assert event_url not in service_page and "Mark delivered" not in service_page


# The delivery-exceptions queue ------------------------------------------------------------------


def overdue_by(shipment, days):
    Shipment.objects.filter(pk=shipment.pk).update(expected_delivery_on=timezone.localdate() - timedelta(days=days))


@pytest.fixture
def three_parcels():
    """A lost parcel, one three days overdue, one on time; each its own order."""
    product, warehouse = ProductFactory(), WarehouseFactory()
    stock(product, warehouse, 10)
    carrier = CarrierFactory()
    parcels = []
    for _index in range(3):
        order = advance(place(lines=[(product, 1)]), "packed")
        parcels.append(
            services.dispatch(
                order.shipments.get().pk, carrier_id=carrier.pk, tracking_number=tracking_number(), actor=SYSTEM
            )
        )
    lost, late, on_time = parcels
    report(lost, Status.EXCEPTION, ago(hours=2), exception_kind="lost", location="广州", description="包裹遗失")
    overdue_by(late, 3)
    return lost, late, on_time


def test_the_queue_lists_exceptions_and_overdue_parcels_but_not_those_on_time(three_parcels):
    lost, late, on_time = three_parcels

    queue = {shipment.pk: shipment for shipment in selectors.delivery_exceptions()}

    assert set(queue) == {lost.pk, late.pk}
    assert (queue[lost.pk].last_event_status, queue[lost.pk].last_event_location) == ("exception", "广州")


def test_a_delivered_parcel_leaves_the_queue(three_parcels):
    _lost, late, _on_time = three_parcels

    report(late, Status.DELIVERED, ago(hours=1))

    assert late.pk not in {shipment.pk for shipment in selectors.delivery_exceptions()}


def test_the_queue_page_says_what_is_wrong_how_late_and_what_to_do_next(client, three_parcels):
    lost, late, _on_time = three_parcels
    client.force_login(staff("Logistics coordinator"))

    response = client.get(reverse("admin:logistics_shipment_exceptions"))

    rows = {row["shipment"].pk: row for row in response.context["rows"]}
    assert (str(rows[lost.pk]["kind"]), str(rows[lost.pk]["next_step"])) == (
        "Lost",
        "Open a claim with the carrier and send the goods again.",
    )
    assert (str(rows[late.pk]["kind"]), rows[late.pk]["days_late"]) == ("Overdue", 3)
    assert str(rows[late.pk]["next_step"]).startswith("Chase the carrier")
    content = response.content.decode()
    assert "包裹遗失" in content and lost.order.number in content


def test_the_queue_narrows_to_one_kind(client, three_parcels):
    lost, late, _on_time = three_parcels
    client.force_login(staff("Logistics coordinator"))

    overdue = client.get(reverse("admin:logistics_shipment_exceptions"), {"kind": "overdue"})
    lost_only = client.get(reverse("admin:logistics_shipment_exceptions"), {"kind": "lost"})

    assert [row["shipment"].pk for row in overdue.context["rows"]] == [late.pk]
    assert [row["shipment"].pk for row in lost_only.context["rows"]] == [lost.pk]
    counts = {kind["code"]: kind["count"] for kind in overdue.context["kinds"]}
    assert (counts["overdue"], counts["lost"], counts["damaged"]) == (1, 1, 0)


def test_a_returned_parcel_waits_in_the_queue_with_its_next_step(client, shipped):
    _order, parcel = shipped
    report(parcel, Status.RETURNED, ago(hours=1))
    client.force_login(staff("Customer service"))

    response = client.get(reverse("admin:logistics_shipment_exceptions"), {"kind": "returned"})

    (row,) = response.context["rows"]
    assert row["shipment"].pk == parcel.pk
    assert str(row["next_step"]).startswith("Contact the customer")
    assert row["event_url"] == ""
