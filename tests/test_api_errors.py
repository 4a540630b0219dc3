"""Every error the API answers is RFC 9457 problem details, whatever went wrong and wherever: a NUL
byte in a number, JSON nested too deep, a body over the upload limit, an unknown address, a method
the endpoint lacks, a server error (docs/architecture.md, "The channel API")."""

import json
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework.test import APIClient

from aftersales.models import ReturnRequest
from core.actors import SYSTEM
from logistics import services as logistics
from orders import selectors
from orders.api.views import bad_request, page_not_found, permission_denied, server_error
from orders.models import Order
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    channel_client,
    place,
    stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

PROBLEM = "application/problem+json"
POST_ENDPOINTS = [
    "/api/v1/orders/",
    "/api/v1/orders/{number}/cancel/",
    "/api/v1/returns/",
    "/api/v1/tracking-events/",
    "/webhooks/carriers/tracking-events/",
]


def assert_problem(response, status_code, problem_type):
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:ordercycle:problem:{problem_type}"
    assert body["status"] == status_code
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def shop():
    """A channel with a placed order, and a carrier with a token: who may post to each endpoint."""
    channel = ChannelFactory()
    product = ProductFactory(sku="MUG", unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 10)
    order = place(channel, lines=[(product, 1)])
    carrier = CarrierFactory()
    carrier_api = APIClient()
    carrier_api.credentials(HTTP_AUTHORIZATION=f"Bearer {logistics.issue_webhook_token(carrier.pk, actor=SYSTEM)}")
    return {"api": channel_client(channel), "carrier_api": carrier_api, "order": order, "channel": channel}


def client_for(shop, url):
    return shop["carrier_api"] if "tracking-events" in url else shop["api"]


@pytest.mark.parametrize("path", ["/api/v1/orders/%00/", "/api/v1/orders/A%00B/", "/api/v1/returns/%00/"])
def test_a_nul_byte_in_a_number_is_not_found(shop, path):
    assert_problem(shop["api"].get(path), 404, "not-found")


def test_a_nul_byte_in_the_number_of_an_order_to_cancel_is_not_found(shop):
    assert_problem(shop["api"].post("/api/v1/orders/%00/cancel/", {}, format="json"), 404, "not-found")


@pytest.mark.parametrize("url", POST_ENDPOINTS)
def test_json_nested_a_thousand_levels_deep_is_refused(shop, url):
    response = client_for(shop, url).post(
        url.format(number=shop["order"].number), "[" * 1000 + "]" * 1000, content_type="application/json"
    )

    assert_problem(response, 400, "parse-error")


@pytest.mark.parametrize("url", POST_ENDPOINTS)
def test_json_nested_deeper_than_the_limit_inside_a_valid_body_is_refused(shop, url):
    deep = {"events": [{"note": json.loads("[" * 40 + "]" * 40)}]}

    response = client_for(shop, url).post(url.format(number=shop["order"].number), deep, format="json")

    assert_problem(response, 400, "parse-error")


@pytest.mark.parametrize("url", POST_ENDPOINTS)
def test_a_body_over_the_upload_limit_is_too_large(shop, url):
    body = json.dumps({"note": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = client_for(shop, url).post(
        url.format(number=shop["order"].number), body, content_type="application/json"
    )

    assert_problem(response, 413, "too-large")


def test_the_order_is_untouched_by_a_refused_cancel(shop):
    number = shop["order"].number

    shop["api"].post(f"/api/v1/orders/{number}/cancel/", "[" * 1000 + "]" * 1000, content_type="application/json")

    assert Order.objects.get(number=number).status != Order.Status.CANCELLED


@pytest.mark.parametrize("path", ["/api/v1/nowhere/", "/api/", "/api/v2/orders/", "/api/v1/orders/1/2/3/"])
def test_an_unknown_api_address_is_not_found(shop, path):
    assert_problem(shop["api"].get(path), 404, "not-found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/orders/"),
        ("put", "/api/v1/products/"),
        ("get", "/api/v1/tracking-events/"),
        ("get", "/webhooks/carriers/tracking-events/"),
        ("patch", "/api/v1/returns/"),
    ],
)
def test_a_method_the_endpoint_lacks_is_not_allowed(shop, method, path):
    response = getattr(client_for(shop, path), method)(path)

    assert_problem(response, 405, "method-not-allowed")


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/webhooks/carriers/tracking-events/"])
def test_a_server_error_answers_with_problem_details(shop, monkeypatch, path):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(selectors, "channel_orders", broken)
    monkeypatch.setattr(logistics, "record_tracking_event", broken)
    api = client_for(shop, path)
    api.raise_request_exception = False

    if "tracking" in path:
        shipped = advance(shop["order"], "shipped")
        response = api.post(
            path,
            [
                {
                    "tracking_number": shipped.shipments.get().tracking_number,
                    "status": "in_transit",
                    "occurred_at": "2025-03-01T14:30:00+08:00",
                }
            ],
            format="json",
        )
    else:
        response = api.get(path)

    body = assert_problem(response, 500, "server-error")
    assert "database" not in body["detail"]


def test_a_server_error_outside_the_api_is_still_the_console_page(rf):
    response = server_error(rf.get("/admin/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("payload", [{}, [], "text", {"events": "x"}])
def test_a_webhook_body_that_is_not_a_list_of_events_is_a_problem(shop, payload):
    response = shop["carrier_api"].post("/webhooks/carriers/tracking-events/", payload, format="json")

    body = assert_problem(response, 400, "invalid")
    assert body["errors"][0]["pointer"] == "#"


def test_a_return_request_with_a_nul_byte_is_refused(shop):
    advance(shop["order"], "delivered")
    response = shop["api"].post(
        "/api/v1/returns/",
        {
            "order_number": "\x00",
            "channel_return_id": "R1",
            "wanted_outcome": "refund",
            "lines": [{"sku": "MUG", "quantity": 1, "reason": "damaged"}],
        },
        format="json",
    )

    assert_problem(response, 400, "invalid")
    assert not ReturnRequest.objects.exists()


@pytest.mark.parametrize(
    ("handler", "exception", "status_code", "problem_type"),
    [
        (bad_request, RequestDataTooBig("too big"), 413, "too-large"),
        (bad_request, SuspiciousOperation("odd"), 400, "bad-request"),
        (permission_denied, DjangoPermissionDenied(), 403, "permission-denied"),
        (page_not_found, Http404(), 404, "not-found"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/orders/", "/webhooks/carriers/tracking-events/"])
def test_what_django_refuses_itself_under_the_api_is_a_problem(rf, handler, exception, status_code, problem_type, path):
    response = handler(rf.post(path), exception)

    assert response.status_code == status_code
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert (body["type"], body["status"]) == (f"urn:ordercycle:problem:{problem_type}", status_code)


@pytest.mark.parametrize("handler", [bad_request, permission_denied, page_not_found])
def test_what_django_refuses_itself_elsewhere_is_its_own_page(rf, handler):
    response = handler(rf.get("/admin/"), Http404())

    assert response["Content-Type"].startswith("text/html")
