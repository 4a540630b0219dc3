"""The channel REST API: tokens, each channel's own orders, idempotent intake, cancelling, stock,
and errors as problem details."""

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.actors import SYSTEM
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import TrackingEvent
from orders import services as orders
from orders.api.serializers import MAX_LINES
from orders.api.throttling import ChannelRateThrottle
from orders.models import Channel, ChannelToken, IdempotencyRecord, Order, OrderEvent
from tests.factories import (
    ProductFactory,
    WarehouseFactory,
    advance,
    channel_client,
    place,
    staff,
    stock,
)
from tests.test_concurrency import race

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

PROBLEM = "application/problem+json"
ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def kettle(warehouse):
    product = ProductFactory(sku="KETTLE", unit_price=Decimal("199.00"))
    stock(product, warehouse, 10)
    return product


@pytest.fixture
def mug(warehouse):
    product = ProductFactory(sku="MUG", unit_price=Decimal("25.00"))
    stock(product, warehouse, 50)
    return product


_phones = iter(range(10**9))


def order_body(*lines, **overrides):
    """A valid order as a channel sends it; each to its own phone so no repeat-order rule holds it."""
    body = {
        "channel_order_id": f"WEB-{next(_phones)}",
        "recipient": "王小明",
        "phone": f"139 {next(_phones) % 10**8:08d}",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号",
        "postcode": "310012",
        "payment_method": "cod",
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
    body.update(overrides)
    return body


def assert_problem(response, status_code, problem_type):
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:ordercycle:problem:{problem_type}"
    assert body["status"] == status_code
    assert body["title"] and body["detail"]
    return body


def reserved(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse).reserved


# --- tokens -------------------------------------------------------------------------------------


def test_request_without_token_is_refused_with_problem_details(web):
    response = APIClient().get(ORDERS)

    assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_is_stored_only_as_its_hash_and_first_characters(web):
    issued = orders.issue_token(web.pk, actor=staff("Manager"))

    token = ChannelToken.objects.get(channel=web)
    assert token.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert token.prefix == issued.secret[:8]
    assert issued.secret not in {token.key_hash, token.prefix}


def test_rotating_a_token_stops_the_old_one(web, kettle):
    old = channel_client(web)
    assert old.get(ORDERS).status_code == 200

    new = channel_client(web)

    assert_problem(old.get(ORDERS), 401, "authentication-failed")
    assert new.get(ORDERS).status_code == 200


def test_revoked_token_and_unknown_token_are_refused(web):
    client = channel_client(web)
    orders.revoke_token(web.pk, actor=staff("Manager"))

    assert_problem(client.get(ORDERS), 401, "authentication-failed")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer oc_not-a-token")
    assert_problem(stranger.get(ORDERS), 401, "authentication-failed")


def test_token_of_an_inactive_channel_is_refused(web):
    client = channel_client(web)
    Channel.objects.filter(pk=web.pk).update(active=False)

    assert_problem(client.get(ORDERS), 401, "authentication-failed")


def test_only_roles_with_the_permission_manage_tokens(web):
    with pytest.raises(PermissionDenied):
        orders.issue_token(web.pk, actor=staff("Customer service"))
    orders.issue_token(web.pk, actor=staff("Manager"))
    with pytest.raises(PermissionDenied):
        orders.revoke_token(web.pk, actor=staff("Order reviewer"))
    assert ChannelToken.objects.filter(channel=web).exists()


def test_using_a_token_marks_when_it_was_last_used(web, api):
    assert ChannelToken.objects.get(channel=web).last_used_at is None

    api.get(ORDERS)

    assert ChannelToken.objects.get(channel=web).last_used_at is not None


# --- one channel, its own orders ----------------------------------------------------------------


def test_channel_sees_only_its_own_orders(web, app_channel, api, kettle):
    own = place(web, lines=[(kettle, 1)])
    other = place(app_channel, lines=[(kettle, 1)])

    listed = api.get(ORDERS).json()["results"]

    assert [o["number"] for o in listed] == [own.number]
    assert_problem(api.get(f"{ORDERS}{other.number}/"), 404, "not-found")
    assert_problem(api.post(f"{ORDERS}{other.number}/cancel/", {}, format="json"), 404, "not-found")
    assert Order.objects.get(pk=other.pk).status == Order.Status.CONFIRMED


def test_posted_order_goes_through_intake_and_reserves_stock(web, api, kettle, mug, warehouse):
    response = api.post(ORDERS, order_body(("KETTLE", 2), ("MUG", 1), shipping_fee="10.00"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get(number=body["number"])
    assert order.channel == web
    assert body["status"] == Order.Status.CONFIRMED
    assert body["total"] == "433.00"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("KETTLE", 2), ("MUG", 1)]
    assert body["shipments"] == []
    assert response["Location"].endswith(f"{ORDERS}{order.number}/")
    assert reserved(kettle, warehouse) == 2


def test_missing_and_malformed_fields_are_each_named_by_pointer(api, kettle):
    body = order_body(("KETTLE", 0))
    del body["recipient"]

    response = api.post(ORDERS, body, format="json")

    problem = assert_problem(response, 400, "invalid")
    pointers = {error["pointer"] for error in problem["errors"]}
    assert pointers == {"#/recipient", "#/lines/0/quantity"}
    assert not Order.objects.exists()


def test_intake_errors_point_at_the_line_and_field_of_the_request(api, kettle):
    response = api.post(ORDERS, order_body(("KETTLE", 1), ("NO-SUCH-SKU", 1), discount="500.00"), format="json")

    problem = assert_problem(response, 400, "invalid")
    errors = {error["pointer"]: error["detail"] for error in problem["errors"]}
    assert "NO-SUCH-SKU" in errors["#/lines/1/sku"]
    assert "#/discount" in errors
    assert not Order.objects.exists()


def test_resent_channel_order_id_without_key_answers_409_with_the_order_number(api, kettle, warehouse):
    body = order_body(("KETTLE", 1))
    first = api.post(ORDERS, body, format="json").json()

    again = api.post(ORDERS, {**body, "recipient": "李雷"}, format="json")

    problem = assert_problem(again, 409, "duplicate-order")
    assert problem["order_number"] == first["number"]
    assert Order.objects.count() == 1
    assert reserved(kettle, warehouse) == 1


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_same_key_and_body_get_the_first_answer_again(api, kettle, warehouse):
    body = order_body(("KETTLE", 1))

    first = api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    Order.objects.filter(number=first.json()["number"]).update(recipient="changed since")
    again = api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert reserved(kettle, warehouse) == 1


def test_same_key_with_another_body_is_refused_with_422(api, kettle):
    api.post(ORDERS, order_body(("KETTLE", 1)), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    response = api.post(ORDERS, order_body(("KETTLE", 2)), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert_problem(response, 422, "idempotency-key-reused")
    assert Order.objects.count() == 1


def test_keys_of_different_channels_do_not_meet(web, app_channel, api, kettle):
    body = order_body(("KETTLE", 1))
    api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    response = channel_client(app_channel).post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert response.status_code == 201
    assert Order.objects.filter(channel=app_channel).count() == 1


def test_refused_order_leaves_its_key_free_for_the_corrected_request(api, kettle):
    refused = api.post(ORDERS, order_body(("NO-SUCH-SKU", 1)), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert_problem(refused, 400, "invalid")

    corrected = api.post(ORDERS, order_body(("KETTLE", 1)), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert corrected.status_code == 201
    assert IdempotencyRecord.objects.get().status_code == 201


def test_unusable_idempotency_key_is_named_as_the_header(api, kettle):
    response = api.post(ORDERS, order_body(("KETTLE", 1)), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)

    problem = assert_problem(response, 400, "invalid")
    assert problem["errors"][0]["header"] == "Idempotency-Key"
    assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_identical_requests_at_once_place_one_order_and_all_get_its_answer(web, kettle, warehouse):
    secret = orders.issue_token(web.pk, actor=SYSTEM).secret
    body = order_body(("KETTLE", 1))

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="same-key")

    responses = race(*[send] * 10)

    assert [getattr(r, "status_code", r) for r in responses] == [201] * 10
    assert all(r.json() == responses[0].json() for r in responses)
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 9
    assert Order.objects.count() == 1
    assert reserved(kettle, warehouse) == 1


# --- reading orders -----------------------------------------------------------------------------


def test_order_list_filters_by_status_channel_order_id_and_update_time(web, api, kettle):
    confirmed = place(web, lines=[(kettle, 1)], phone="13900000001")
    cancelled = place(web, lines=[(kettle, 1)], phone="13900000002")
    orders.cancel(cancelled.pk, actor=SYSTEM, reason="test")
    long_ago = timezone.now() - timedelta(days=30)
    Order.objects.filter(pk=confirmed.pk).update(updated_at=long_ago)

    def numbers(query):
        response = api.get(ORDERS, query)
        assert response.status_code == 200, response.content
        return [o["number"] for o in response.json()["results"]]

    assert numbers({"status": "cancelled"}) == [cancelled.number]
    assert set(numbers({"status": ["cancelled", "confirmed"]})) == {confirmed.number, cancelled.number}
    assert numbers({"channel_order_id": confirmed.channel_order_id}) == [confirmed.number]
    assert numbers({"updated_since": (long_ago + timedelta(days=1)).isoformat()}) == [cancelled.number]


def test_order_list_is_read_page_by_page_with_cursors(web, api, kettle):
    placed = [place(web, lines=[(kettle, 1)], phone=f"1390000000{n}").number for n in range(3)]

    first = api.get(ORDERS, {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert second["next"] is None
    assert sorted(o["number"] for o in first["results"] + second["results"]) == sorted(placed)


def test_bad_filter_values_name_their_query_parameter(api):
    problem = assert_problem(api.get(ORDERS, {"updated_since": "yesterday", "status": "lost"}), 400, "invalid")
    assert {error["parameter"] for error in problem["errors"]} == {"updated_since", "status"}

    problem = assert_problem(api.get(ORDERS, {"cursor": "not-a-cursor"}), 400, "invalid")
    assert problem["errors"][0]["parameter"] == "cursor"


def test_update_time_is_read_with_any_iso_offset_or_refused_by_parameter(web, api, kettle):
    order = place(web, lines=[(kettle, 1)])

    far_west = api.get(ORDERS, {"updated_since": "2000-01-01T00:00:00-21:34"})
    out_of_range = api.get(ORDERS, {"updated_since": "0001-01-01T00:00:00"})

    assert [o["number"] for o in far_west.json()["results"]] == [order.number]
    assert assert_problem(out_of_range, 400, "invalid")["errors"][0]["parameter"] == "updated_since"


def test_order_detail_shows_payments_and_shipments_with_tracking_events(web, api, kettle):
    order = place(web, lines=[(kettle, 1)], payment_method="e_wallet", paid_amount="199.00")
    advance(order, "shipped")
    shipment = order.shipments.get()
    logistics.record_tracking_event(
        shipment.pk,
        status=TrackingEvent.Status.IN_TRANSIT,
        occurred_at=timezone.now(),
        location="杭州转运中心",
        source=TrackingEvent.Source.WEBHOOK,
        actor=SYSTEM,
    )

    body = api.get(f"{ORDERS}{order.number}/").json()

    assert body["status"] == Order.Status.SHIPPED
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("e_wallet", "199.00")]
    [parcel] = body["shipments"]
    assert parcel["tracking_number"] == shipment.tracking_number
    assert parcel["carrier"] == shipment.carrier.code
    assert parcel["status"] == "in_transit"
    assert [(e["status"], e["location"]) for e in parcel["events"]] == [("in_transit", "杭州转运中心")]
    assert parcel["lines"] == [{"sku": "KETTLE", "quantity": 1}]


# --- cancelling ---------------------------------------------------------------------------------


def test_cancel_releases_stock_and_names_the_channel_in_the_history(web, api, kettle, warehouse):
    order = place(web, lines=[(kettle, 3)])

    response = api.post(f"{ORDERS}{order.number}/cancel/", {"reason": "customer changed mind"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Order.Status.CANCELLED
    assert reserved(kettle, warehouse) == 0
    event = OrderEvent.objects.get(order=order, to_status=Order.Status.CANCELLED)
    assert event.actor is None
    assert "Web shop" in event.reason and "customer changed mind" in event.reason


def test_cancel_after_shipping_is_refused_with_409(web, api, kettle):
    order = advance(place(web, lines=[(kettle, 1)]), "shipped")

    response = api.post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert_problem(response, 409, "order-not-cancellable")
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED


# --- products -----------------------------------------------------------------------------------


def test_products_show_what_can_still_be_sold_in_active_warehouses(web, api, kettle, warehouse):
    closed = WarehouseFactory(active=False)
    stock(kettle, closed, 100)
    place(web, lines=[(kettle, 3)])
    ProductFactory(sku="RETIRED", active=False)

    listed = api.get(PRODUCTS).json()["results"]

    assert [(p["sku"], p["available"]) for p in listed] == [("KETTLE", 7)]


def test_products_are_filtered_by_sku_list(api, kettle, mug):
    ProductFactory(sku="SPOON")

    listed = api.get(PRODUCTS, {"sku": "MUG,SPOON"}).json()["results"]

    assert [(p["sku"], p["available"]) for p in listed] == [("MUG", 50), ("SPOON", 0)]


# --- limits and errors --------------------------------------------------------------------------


def test_each_channel_is_throttled_on_its_own(settings, monkeypatch, web, app_channel, api):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"channel": "2/minute"}}
    # Ten seconds into a minute, whatever the clock says: the requests all fall in one window.
    monkeypatch.setattr(ChannelRateThrottle, "timer", lambda self: 1_699_999_990.0)
    other = channel_client(app_channel)

    responses = [api.get(ORDERS) for _ in range(3)]

    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert_problem(responses[2], 429, "throttled")
    assert responses[2]["Retry-After"] == "50"
    assert other.get(ORDERS).status_code == 200


def test_the_count_starts_again_in_the_next_period(settings, monkeypatch, api):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"channel": "1/minute"}}
    clock = [1_699_999_990.0]
    monkeypatch.setattr(ChannelRateThrottle, "timer", lambda self: clock[0])
    assert api.get(ORDERS).status_code == 200
    assert api.get(ORDERS).status_code == 429

    clock[0] += 60

    assert api.get(ORDERS).status_code == 200


def test_unknown_api_address_answers_with_problem_details(api):
    assert_problem(api.get("/api/v1/nowhere/"), 404, "not-found")
    assert_problem(api.post("/api/v1/orders", {}, format="json"), 404, "not-found")


def test_body_that_is_not_json_is_refused(api):
    assert_problem(api.post(ORDERS, "channel_order_id=1", content_type="text/plain"), 415, "unsupported-media-type")
    assert_problem(api.post(ORDERS, "{not json", content_type="application/json"), 400, "parse-error")


def test_docs_page_is_served_by_the_app_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


# --- the console --------------------------------------------------------------------------------


def test_console_shows_a_new_token_once_and_it_works(client, web, kettle):
    client.force_login(staff("Manager"))
    url = reverse("admin:orders_channel_api_token", args=[web.pk])
    assert "Create API token" in client.get(url).content.decode()

    made = client.post(url, {"do": "issue"})

    token = ChannelToken.objects.get(channel=web)
    secret = made.context["secret"]
    assert secret in made.content.decode()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    later = client.get(url).content.decode()
    assert secret not in later and token.prefix in later
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(ORDERS).status_code == 200


def test_console_revokes_a_token(client, web):
    orders.issue_token(web.pk, actor=SYSTEM)
    client.force_login(staff("Manager"))

    response = client.post(reverse("admin:orders_channel_api_token", args=[web.pk]), {"do": "revoke"})

    assert response.status_code == 302
    assert not ChannelToken.objects.filter(channel=web).exists()


def test_console_token_page_is_refused_to_roles_without_the_permission(client, web):
    client.force_login(staff("Customer service"))

    response = client.post(reverse("admin:orders_channel_api_token", args=[web.pk]), {"do": "issue"})

    assert response.status_code == 403
    assert not ChannelToken.objects.exists()


def test_channel_page_links_to_its_token_and_the_list_shows_its_start(client, web):
    issued = orders.issue_token(web.pk, actor=SYSTEM)
    client.force_login(staff("Manager"))

    change_page = client.get(reverse("admin:orders_channel_change", args=[web.pk])).content.decode()
    channel_list = client.get(reverse("admin:orders_channel_changelist")).content.decode()

    assert reverse("admin:orders_channel_api_token", args=[web.pk]) in change_page
    assert issued.token.prefix in channel_list


# --- bounds of what an order may say -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "pointer"),
    [
        ({"order_date": "0001-01-01T00:00:00Z"}, "#/order_date"),
        ({"order_date": "0001-01-01T00:00:00+05:00"}, "#/order_date"),
        ({"order_date": "2099-01-01T00:00:00+08:00"}, "#/order_date"),
        ({"order_date": "9999-12-31T23:59:59-05:00"}, "#/order_date"),
        ({"currency": "ÄÖÜ"}, "#/currency"),
        ({"currency": "XYZ"}, "#/currency"),
        ({"phone": "12345"}, "#/phone"),
    ],
)
def test_an_impossible_order_date_currency_or_phone_is_refused_at_its_pointer(api, kettle, values, pointer):
    response = api.post(ORDERS, order_body(("KETTLE", 1), **values), format="json")

    problem = assert_problem(response, 400, "invalid")
    assert [error["pointer"] for error in problem["errors"]] == [pointer]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"updated_since": ""},
        {"channel_order_id": ""},
        {"status": ""},
        {"page_size": ""},
        {"page_size": "0"},
        {"page_size": "201"},
        {"page_size": "ten"},
        {"cursor": ""},
    ],
)
def test_an_empty_or_impossible_list_parameter_is_refused_rather_than_ignored(api, query):
    problem = assert_problem(api.get(ORDERS, query), 400, "invalid")

    assert [error["parameter"] for error in problem["errors"]] == list(query)


@pytest.mark.parametrize("sku", ["", "MUG,", ",MUG"])
def test_an_empty_sku_in_the_product_filter_is_refused(api, sku):
    problem = assert_problem(api.get(PRODUCTS, {"sku": sku}), 400, "invalid")

    assert problem["errors"][0]["parameter"] == "sku"


def test_a_page_size_within_the_limit_is_kept(api, web, kettle):
    for number in range(3):
        place(web, lines=[(kettle, 1)], phone=f"1390000{number:04d}")

    assert len(api.get(ORDERS, {"page_size": "2"}).json()["results"]) == 2


def test_more_lines_than_the_limit_are_refused(api, kettle):
    body = order_body(*[("KETTLE", 1)] * (MAX_LINES + 1))

    problem = assert_problem(api.post(ORDERS, body, format="json"), 400, "invalid")

    assert problem["errors"][0]["pointer"] == "#/lines"
    assert not Order.objects.exists()
