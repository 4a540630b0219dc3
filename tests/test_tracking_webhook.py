"""The carrier webhook: a token per carrier, checked by its hash; nothing is recorded without the
right one, and each event of a batch gets its own answer."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from core.actors import SYSTEM
from logistics import services
from logistics.models import Shipment, TrackingEvent
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = pytest.mark.django_db

URL = "/webhooks/carriers/tracking-events/"


@pytest.fixture
def carrier():
    return CarrierFactory()


@pytest.fixture
def token(carrier):
    return services.issue_webhook_token(carrier.pk, actor=SYSTEM)


@pytest.fixture
def parcel(carrier):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = advance(place(lines=[(product, 1)]), "packed")
    return services.dispatch(
        order.shipments.get().pk, carrier_id=carrier.pk, tracking_number="SF5550000000044", actor=SYSTEM
    )


def event(**overrides):
    return {
        "tracking_number": "SF5550000000044",
        "status": "in_transit",
        "occurred_at": "2025-03-01T14:30:00+08:00",
        "location": "杭州",
        "description": "到达杭州转运中心",
        **overrides,
    }


def post(client, payload, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post(URL, payload, content_type="application/json", **headers)


def test_the_webhook_lives_at_its_public_address():
    assert reverse("carrier-tracking-events") == URL


@pytest.mark.parametrize("header", [None, "Bearer not-the-token", "Token abc", "Bearer"])
def test_a_missing_or_wrong_token_is_refused_and_nothing_is_recorded(client, token, parcel, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.post(URL, [event()], content_type="application/json", **extra)

    assert response.status_code in (401, 403)
    assert not TrackingEvent.objects.exists()
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.SHIPPED


def test_a_replaced_token_no_longer_works(client, carrier, token, parcel):
    services.issue_webhook_token(carrier.pk, actor=SYSTEM)

    response = post(client, [event()], token)

    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()


def test_the_token_of_an_inactive_carrier_is_refused(client, carrier, token, parcel):
    carrier.active = False
    carrier.save()

    response = post(client, [event()], token)

    assert response.status_code == 401
    assert not TrackingEvent.objects.exists()


def test_the_right_token_records_the_events_and_moves_the_parcel(client, token, parcel):
    response = post(client, [event(), event(status="out_for_delivery", occurred_at="2025-03-02T08:00:00+08:00")], token)

    assert response.status_code == 200
    body = response.json()
    assert (body["recorded"], body["duplicate"], body["error"]) == (2, 0, 0)
    assert [item["result"] for item in body["results"]] == ["recorded", "recorded"]
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.OUT_FOR_DELIVERY
    first = parcel.events.order_by("occurred_at").first()
    assert (first.source, first.location, first.recorded_by) == (TrackingEvent.Source.WEBHOOK, "杭州", None)


def test_an_events_object_is_accepted_too_and_a_resent_event_is_a_duplicate(client, token, parcel):
    post(client, {"events": [event()]}, token)

    response = post(client, {"events": [event()]}, token)

    assert response.json()["results"][0]["result"] == "duplicate"
    assert parcel.events.count() == 1


def test_each_event_of_a_batch_gets_its_own_answer(client, token, parcel):
    response = post(
        client,
        [
            event(tracking_number="NOPE"),
            event(occurred_at="2025-03-01T14:30:00"),
            event(status="exception"),
            event(status="exception", exception_kind="address_problem", occurred_at="2025-03-03T09:00:00+08:00"),
        ],
        token,
    )

    results = response.json()["results"]
    assert [item["result"] for item in results] == ["error", "error", "error", "recorded"]
    assert "tracking_number" in results[0]["errors"]
    assert "occurred_at" in results[1]["errors"]
    assert "exception_kind" in results[2]["errors"]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.exception_kind) == (Shipment.Status.EXCEPTION, "address_problem")


def test_a_time_with_an_offset_beyond_what_postgresql_holds_is_recorded_at_its_instant(client, token, parcel):
    response = post(client, [event(occurred_at="2025-03-01T01:00:00-21:34")], token)

    assert response.json()["results"][0]["result"] == "recorded"
    assert parcel.events.get().occurred_at == datetime(2025, 3, 1, 22, 34, tzinfo=UTC)


def test_a_carrier_cannot_report_on_another_carriers_parcel(client, parcel):
    other = CarrierFactory(code="zto", name="ZTO Express")
    other_token = services.issue_webhook_token(other.pk, actor=SYSTEM)

    response = post(client, [event()], other_token)

    assert response.json()["results"][0]["result"] == "error"
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("payload", [{}, [], "text", {"events": "x"}])
def test_a_body_that_is_not_a_list_of_events_is_refused(client, token, parcel, payload):
    response = post(client, payload, token)

    assert response.status_code == 400
    assert not TrackingEvent.objects.exists()
