"""The database connection lost in the middle of `place_order`, on PostgreSQL (docs/architecture.md,
"Jobs"): the server's backend is terminated from another connection, or the driver's error raised,
at points inside intake. The order is placed entirely or not at all, and the channel's retry with
the same Idempotency-Key gives exactly one order, answered again to a second retry."""

from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections
from django.utils.module_loading import import_string

from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from orders import services
from orders.models import Customer, IdempotencyRecord, Order, OrderEvent, OrderLine
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, channel_client, stock

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_rate_limits"),
]

ORDERS = "/api/v1/orders/"
BODY = {
    "channel_order_id": "WEB-LOST-1",
    "recipient": "王小明",
    "phone": "139 0000 0001",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "address": "文三路 90 号",
    "payment_method": "cod",
    "lines": [{"sku": "KETTLE", "quantity": 2}],
}
# Inside intake, in the order it gets there: customers written, orders and lines inserted, stock
# reserved, outcomes written, notifications queued (the last statements before the commit).
POINTS = [
    "orders.services.intake._customers",
    "orders.services.intake._reserve_lines_of",
    "orders.services.intake._write_outcomes",
    "orders.services.intake.notify_many",
]


@pytest.fixture
def kettle():
    product = ProductFactory(sku="KETTLE", unit_price=Decimal("199.00"))
    stock(product, WarehouseFactory(), 10)
    return product


@pytest.fixture
def api():
    client = channel_client(ChannelFactory(code="web", name="Web shop"))
    # The failed request is answered as the server answers it, not raised into the test.
    client.raise_request_exception = False
    return client


def terminate_this_backend():
    """What a restarted database, a failover or a dropped network does to the request's connection."""
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def raise_operational_error():
    raise OperationalError("server closed the connection unexpectedly")


def broken_at(monkeypatch, point, fault):
    original = import_string(point)

    def broken(*args, **kwargs):
        fault()
        return original(*args, **kwargs)

    monkeypatch.setattr(point, broken)
    return lambda: monkeypatch.setattr(point, original)


def nothing_was_placed():
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert Customer.objects.count() == 0
    assert StockLevel.objects.get().reserved == 0
    assert StockMovement.objects.filter(kind="reserve").count() == 0
    assert IdempotencyRecord.objects.count() == 0


def retried_places_one_order(api):
    retried = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")
    again = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")

    assert retried.status_code == 201, retried.content
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == retried.json()["number"]
    order = Order.objects.get()
    assert order.lines.get().quantity == 2
    assert StockLevel.objects.get().reserved == 2
    assert not ledger_mismatches().exists()
    assert IdempotencyRecord.objects.get().status_code == 201


@pytest.mark.parametrize("point", POINTS)
def test_a_terminated_connection_in_place_order_places_nothing_and_the_retry_places_one_order(
    api, kettle, monkeypatch, point
):
    repair = broken_at(monkeypatch, point, terminate_this_backend)

    lost = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")

    assert lost.status_code == 503, lost.content
    assert lost["Content-Type"] == "application/problem+json"
    assert lost["Retry-After"]
    assert "Idempotency-Key" in lost.json()["detail"]
    nothing_was_placed()
    repair()
    retried_places_one_order(api)


@pytest.mark.parametrize("point", POINTS[1::2])
def test_a_driver_error_in_place_order_places_nothing_and_the_retry_places_one_order(api, kettle, monkeypatch, point):
    repair = broken_at(monkeypatch, point, raise_operational_error)

    lost = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")

    assert lost.status_code == 503, lost.content
    nothing_was_placed()
    repair()
    retried_places_one_order(api)


def test_an_answer_lost_after_the_commit_is_given_again_to_the_retry_with_the_same_order(api, kettle, monkeypatch):
    respond_once = services.respond_once

    def committed_then_lost(*args, **kwargs):
        respond_once(*args, **kwargs)
        raise_operational_error()

    monkeypatch.setattr("orders.api.idempotency.services.respond_once", committed_then_lost)
    lost = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")
    monkeypatch.setattr("orders.api.idempotency.services.respond_once", respond_once)

    assert lost.status_code == 503
    placed = Order.objects.get()
    retried = api.post(ORDERS, BODY, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")
    assert (retried.status_code, retried["Idempotent-Replayed"]) == (201, "true")
    assert retried.json()["number"] == placed.number
    assert Order.objects.count() == 1
    assert StockLevel.objects.get().reserved == 2
