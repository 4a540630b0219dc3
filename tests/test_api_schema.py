"""The API keeps to its own OpenAPI schema: schemathesis sends generated requests (valid and not) to
every operation of /api/schema/ through the WSGI app and checks that nothing answers with a server
error and every answer matches what the schema documents; real orders, read back, match it too."""

from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import TrackingEvent
from orders import services as orders
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("requests_keep_the_test_connection")]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]
# Enough for schemathesis to reach every field and parameter with valid and invalid values, while
# the whole file stays within about a minute.
EXAMPLES_PER_OPERATION = 50


@pytest.fixture(autouse=True)
def channel_api_settings(settings):
    """No rate limit in the way of hundreds of generated requests."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"channel": "1000000/minute"},
    }
    cache.clear()


@pytest.fixture
def shop():
    """A channel with its token, products in stock and an order that has shipped and is tracked."""
    channel = ChannelFactory()
    warehouse = WarehouseFactory()
    for sku in ("KETTLE", "MUG"):
        stock(ProductFactory(sku=sku, unit_price=Decimal("25.00")), warehouse, 1000)
    shipped = advance(place(channel, lines=[("KETTLE", 1)], payment_method="e_wallet", paid_amount="25.00"), "shipped")
    logistics.record_tracking_event(
        shipped.shipments.get().pk,
        status=TrackingEvent.Status.IN_TRANSIT,
        occurred_at=timezone.now(),
        location="杭州",
        source=TrackingEvent.Source.WEBHOOK,
        actor=SYSTEM,
    )
    return {
        "token": orders.issue_token(channel.pk, actor=SYSTEM).secret,
        "carrier_token": logistics.issue_webhook_token(shipped.shipments.get().carrier_id, actor=SYSTEM),
        "shipped": shipped,
    }


def test_schema_is_valid_openapi_and_documents_the_api_alone(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    document = response.json()
    validate_schema(document)
    assert sorted(document["paths"]) == [
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/orders/{number}/cancel/",
        "/api/v1/products/",
        "/api/v1/returns/",
        "/api/v1/returns/{number}/",
        "/api/v1/tracking-events/",
    ]


# Loaded once, when the tests are collected: the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_server_error_and_answers_that_match_the_schema(case, shop):
    token = shop["carrier_token"] if case.path == "/api/v1/tracking-events/" else shop["token"]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_real_answers_match_the_schema(shop):
    """Generated requests rarely name a real order or parcel; these place, read and cancel real
    orders and report a real parcel's progress, and check the answers against the schema the same way."""
    auth = {"Authorization": f"Bearer {shop['token']}"}
    shipped = shop["shipped"].number

    def answer(path, method, status_code, **request):
        case = schema[path][method].Case(headers=auth, **request)
        response = case.call()
        assert response.status_code == status_code, (path, response.text)
        case.validate_response(response, checks=CHECKS)
        return response.json()

    placed = answer(
        "/api/v1/orders/",
        "POST",
        201,
        body={
            "channel_order_id": "SCHEMA-1",
            "recipient": "王小明",
            "phone": "13900000001",
            "province": "浙江省",
            "city": "杭州市",
            "address": "文三路 90 号",
            "payment_method": "cod",
            "lines": [{"sku": "MUG", "quantity": 2}],
        },
    )
    listed = answer("/api/v1/orders/", "GET", 200, query={"page_size": 1})
    assert listed["next"]
    detail = answer("/api/v1/orders/{number}/", "GET", 200, path_parameters={"number": shipped})
    assert detail["shipments"][0]["events"]
    answer("/api/v1/orders/{number}/cancel/", "POST", 200, path_parameters={"number": placed["number"]}, body={})
    answer("/api/v1/orders/{number}/cancel/", "POST", 409, path_parameters={"number": shipped}, body={})
    assert answer("/api/v1/products/", "GET", 200)["results"]
    auth["Authorization"] = f"Bearer {shop['carrier_token']}"
    reported = answer(
        "/api/v1/tracking-events/",
        "POST",
        200,
        body=[
            {
                "tracking_number": shop["shipped"].shipments.get().tracking_number,
                "status": "out_for_delivery",
                "occurred_at": timezone.now().isoformat(),
            }
        ],
    )
    assert reported["recorded"] == 1
