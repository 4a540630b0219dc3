"""The API keeps to its own OpenAPI schema: schemathesis sends generated requests (valid and not) to
every operation of /api/schema/ through the WSGI app with every check it has, and any finding fails
the test, except the intended behaviour listed below (INTENDED_REFUSALS and a carrier's batch with
bad events); real orders, read back, match the schema too."""

import re
from decimal import Decimal

import pytest
import schemathesis
from django.core.cache import cache
from django.core.validators import ProhibitNullCharactersValidator
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as SCHEMATHESIS_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import TrackingEvent
from logistics.webhooks import MAX_EVENTS_PER_CALL
from orders import services as orders
from orders.api.serializers import MAX_LINES
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("requests_keep_the_test_connection")]

# A request that keeps to the schema may still be refused (400) for a rule the schema cannot state:
# what exists in the shop, what holds now, how fields go together. These, by operation, are the
# parameters and body members (regular expressions on the JSON Pointer) that such a refusal may
# name; any other refusal of a valid request is a finding.
INTENDED_REFUSALS = {
    # A cursor is opaque: only one from a "next" or "previous" link is a cursor.
    "GET /api/v1/orders/": {"cursor"},
    "GET /api/v1/products/": {"cursor"},
    "POST /api/v1/orders/": {
        r"#/lines/\d+/sku",  # a SKU the shop sells
        r"#/lines/\d+/unit_price",  # set only by those who may set prices
        r"#/lines",  # the order's total fits the money columns
        r"#/phone",  # a number some numbering plan allows
        r"#/currency",  # an ISO 4217 code
        r"#/order_date",  # within ORDER_DATE_MAX_DAYS_BACK and _AHEAD of now
        r"#/delivery_window_end",  # after the window starts
        r"#/discount",  # not more than the lines and shipping together
        r"#/language",  # one the shop writes in
        r"#/recipient|#/province|#/city|#/address|#/postcode|#/district|#/payment_reference",  # blank once trimmed
    },
    "POST /api/v1/orders/{number}/cancel/": set(),
    "POST /api/v1/returns/": {
        r"#/order_number",  # either order_number or channel_order_id, not both
        r"#/lines/\d+/sku",  # a SKU of the order
        r"#/lines/\d+/quantity",  # no more than was delivered and not returned yet
        r"#/lines",
        r"#/channel_return_id|#/channel_order_id|#/customer_note|#/lines/\d+/note",  # blank once trimmed
        r"#",  # the order must be delivered, and within the return window
    },
    "POST /api/v1/tracking-events/": set(),
}


# Text anywhere may not hold a NUL character (PostgreSQL cannot store one); the schema leaves it unsaid.
NUL_REFUSED = str(ProhibitNullCharactersValidator.message)


def refused_only_by_intended_rules(response, case):
    if response.status_code != 400:
        return False
    allowed = INTENDED_REFUSALS[f"{case.method.upper()} {case.path}"]
    errors = response.json().get("errors", [])
    if not errors:
        return False
    errors = [error for error in errors if error["detail"] != NUL_REFUSED]
    named = [error.get("parameter") or error.get("header") or error.get("pointer") for error in errors]
    return all(any(re.fullmatch(pattern, name) for pattern in allowed) for name in named)


def valid_requests_are_accepted(ctx, response, case):
    """schemathesis's positive_data_acceptance, less the INTENDED_REFUSALS."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if refused_only_by_intended_rules(response, case):
            return None
        raise


def invalid_requests_are_refused(ctx, response, case):
    """schemathesis's negative_data_rejection, less one intended behaviour: a carrier's batch is
    answered event by event (200), and an event that breaks the schema is refused on its own in the
    answer, so one bad event never loses the others."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if case.path == "/api/v1/tracking-events/" and response.status_code == 200 and response.json()["error"]:
            return None
        raise


load_all_checks()
CHECKS = [
    *(
        check
        for check in SCHEMATHESIS_CHECKS.get_all()
        if check not in (positive_data_acceptance, negative_data_rejection)
    ),
    valid_requests_are_accepted,
    invalid_requests_are_refused,
]
# Enough for schemathesis to reach every field and parameter with valid and invalid values, while
# the whole file stays within about a minute.
EXAMPLES_PER_OPERATION = 30


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
        "/api/v1/orders/{number}/payments/",
        "/api/v1/products/",
        "/api/v1/returns/",
        "/api/v1/returns/{number}/",
        "/api/v1/tracking-events/",
    ]


def test_the_schema_states_the_limits_the_api_enforces(client):
    document = client.get("/api/schema/", {"format": "json"}).json()
    components = document["components"]["schemas"]
    order, order_line = components["OrderInput"], components["OrderLineInput"]
    events = document["paths"]["/api/v1/tracking-events/"]["post"]["requestBody"]["content"]["application/json"]
    listing = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/orders/"]["get"]["parameters"]}

    for name in ("channel_order_id", "recipient", "phone", "address"):
        assert order["properties"][name]["minLength"] == 1, name
    # The address may hold the whole address, its region left out (docs/architecture.md, "Addresses").
    for name in ("province", "city", "district"):
        assert "minLength" not in order["properties"][name], name
        assert name not in order.get("required", []), name
    assert order_line["properties"]["sku"]["minLength"] == 1
    assert (order["properties"]["lines"]["minItems"], order["properties"]["lines"]["maxItems"]) == (1, MAX_LINES)
    assert components["ReturnInput"]["properties"]["lines"]["maxItems"] == MAX_LINES
    assert (events["schema"]["minItems"], events["schema"]["maxItems"]) == (1, MAX_EVENTS_PER_CALL)
    assert order["properties"]["shipping_fee"]["pattern"] == r"^\d{1,10}(\.\d{1,2})?$"
    assert listing["updated_since"]["minLength"] == 1
    assert (listing["page_size"]["minimum"], listing["page_size"]["maximum"]) == (1, 200)


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
