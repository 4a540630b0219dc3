"""Returns through the channel API: a channel asks for a return of its own delivered order by SKU,
once per channel return id, reads it back, and finds its orders' returns in the order detail;
errors are problem details naming the bad member of the request."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aftersales.models import ReturnEvent, ReturnRequest
from aftersales.services import returns
from core.actors import SYSTEM
from orders import services as orders
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, advance, channel_client, place, staff, stock
from tests.test_api_orders import PROBLEM, assert_problem
from tests.test_api_schema import CHECKS, schema
from tests.test_concurrency import race

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_rate_limits", "requests_keep_the_test_connection"),
]

RETURNS = "/api/v1/returns/"
ORDERS = "/api/v1/orders/"


@pytest.fixture
def products():
    warehouse = WarehouseFactory()
    for sku, price in (("KETTLE", "199.00"), ("MUG", "25.00")):
        stock(ProductFactory(sku=sku, unit_price=Decimal(price)), warehouse, 50)


def delivered(channel, *lines, **extra):
    return advance(place(channel, lines=lines or [("KETTLE", 2), ("MUG", 1)], **extra), "delivered")


def return_body(order, *lines, **overrides):
    body = {
        "order_number": order.number,
        "lines": [{"sku": sku, "quantity": quantity, "reason": reason} for sku, quantity, reason in lines]
        or [{"sku": "KETTLE", "quantity": 1, "reason": "quality", "note": "Lid does not close"}],
        "wanted_outcome": "refund",
        "customer_note": "Please take it back",
        "channel_return_id": "RT-1",
    }
    body.update(overrides)
    return body


def errors_of(response):
    return {error["pointer"]: error["detail"] for error in assert_problem(response, 400, "invalid")["errors"]}


# Asking for a return ----------------------------------------------------------------------------


def test_a_channel_asks_for_a_return_of_its_delivered_order_by_sku(web, api, products):
    order = delivered(web)

    response = api.post(RETURNS, return_body(order, ("KETTLE", 1, "quality"), ("MUG", 1, "wrong_item")), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    case = ReturnRequest.objects.get(number=body["number"])
    assert (case.order, case.channel_reference, case.requested_by, case.customer_note) == (
        order,
        "RT-1",
        None,
        "Please take it back",
    )
    assert {(line.order_line.sku, line.quantity, line.reason) for line in case.lines.all()} == {
        ("KETTLE", 1, "quality"),
        ("MUG", 1, "wrong_item"),
    }
    assert body["status"] == "requested" and body["within_window"] is True
    assert body["order_number"] == order.number and body["channel_return_id"] == "RT-1"
    assert [(line["sku"], line["quantity"], line["reason"]) for line in body["lines"]] == [
        ("KETTLE", 1, "quality"),
        ("MUG", 1, "wrong_item"),
    ]
    assert response["Location"].endswith(f"{RETURNS}{case.number}/")
    assert ReturnEvent.objects.get(return_request=case).actor is None


def test_the_order_may_be_named_by_the_channels_own_order_id(web, api, products):
    order = delivered(web)
    body = return_body(order)
    del body["order_number"]

    response = api.post(RETURNS, {**body, "channel_order_id": order.channel_order_id}, format="json")

    assert response.status_code == 201, response.content
    assert ReturnRequest.objects.get().order == order


def test_an_order_of_the_same_sku_on_two_lines_returns_each_line_in_turn(web, api, products):
    order = delivered(web, ("KETTLE", 1), ("KETTLE", 1))
    three = return_body(order, *[("KETTLE", 1, "quality")] * 3)

    refused = errors_of(api.post(RETURNS, three, format="json"))
    response = api.post(
        RETURNS, return_body(order, ("KETTLE", 1, "quality"), ("KETTLE", 1, "changed_mind")), format="json"
    )

    assert "on more lines of this return than of order" in refused["#/lines/2/sku"]
    assert response.status_code == 201, response.content
    assert sorted(ReturnRequest.objects.get().lines.values_list("order_line_id", flat=True)) == sorted(
        order.lines.values_list("pk", flat=True)
    )


# One channel, its own returns -------------------------------------------------------------------


def test_another_channels_order_is_not_found_and_nothing_is_asked(web, app_channel, api, products):
    theirs = delivered(app_channel)

    response = api.post(RETURNS, return_body(theirs), format="json")

    assert_problem(response, 404, "not-found")
    assert not ReturnRequest.objects.exists()


def test_a_channel_reads_its_own_returns_and_not_another_channels(web, app_channel, api, products):
    theirs = delivered(app_channel, phone="13900000002")
    theirs_return = channel_client(app_channel).post(RETURNS, return_body(theirs), format="json").json()
    mine = api.post(RETURNS, return_body(delivered(web)), format="json").json()

    read = api.get(f"{RETURNS}{mine['number']}/")

    assert read.status_code == 200
    assert read.json() == mine
    assert_problem(api.get(f"{RETURNS}{theirs_return['number']}/"), 404, "not-found")


# Validation -------------------------------------------------------------------------------------


def test_malformed_members_are_each_named_by_pointer(web, api, products):
    order = delivered(web)
    body = return_body(order, ("KETTLE", 0, "broken"), wanted_outcome="money back")
    del body["channel_return_id"]

    errors = errors_of(api.post(RETURNS, body, format="json"))

    assert set(errors) == {"#/lines/0/quantity", "#/lines/0/reason", "#/wanted_outcome", "#/channel_return_id"}
    assert not ReturnRequest.objects.exists()


def test_the_order_is_named_by_exactly_one_of_its_numbers(web, api, products):
    order = delivered(web)

    both = errors_of(api.post(RETURNS, return_body(order, channel_order_id=order.channel_order_id), format="json"))
    body = return_body(order)
    del body["order_number"]
    neither = errors_of(api.post(RETURNS, body, format="json"))

    assert "order_number or channel_order_id" in both["#/order_number"]
    assert set(neither) == {"#/order_number"}


def test_what_the_service_refuses_points_at_the_line_and_member_of_the_request(web, api, products):
    order = delivered(web)

    errors = errors_of(
        api.post(
            RETURNS,
            return_body(order, ("MUG", 1, "quality"), ("KETTLE", 3, "quality"), ("CUP", 1, "quality")),
            format="json",
        )
    )

    assert set(errors) == {"#/lines/2/sku"}
    assert "CUP" in errors["#/lines/2/sku"]
    errors = errors_of(
        api.post(RETURNS, return_body(order, ("MUG", 1, "quality"), ("KETTLE", 3, "quality")), format="json")
    )
    assert set(errors) == {"#/lines/1/quantity"}
    assert "At most 2 × KETTLE" in errors["#/lines/1/quantity"]
    assert not ReturnRequest.objects.exists()


def test_a_return_of_an_order_not_yet_delivered_is_refused_for_the_whole_request(web, api, products):
    order = place(web, lines=[("KETTLE", 1)])

    errors = errors_of(api.post(RETURNS, return_body(order), format="json"))

    assert set(errors) == {"#"}
    assert "delivered" in errors["#"]


def test_a_return_after_the_window_is_refused_for_a_channel(web, api, products):
    order = delivered(web)
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=40))

    errors = errors_of(api.post(RETURNS, return_body(order), format="json"))

    assert "return window" in errors["#"]
    assert not ReturnRequest.objects.exists()


# Asking once ------------------------------------------------------------------------------------


def test_the_same_channel_return_id_again_answers_200_with_the_return_asked_for_before(web, api, products):
    order = delivered(web)
    first = api.post(RETURNS, return_body(order), format="json")

    again = api.post(RETURNS, return_body(order, ("MUG", 1, "quality")), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert ReturnRequest.objects.count() == 1


def test_a_channel_return_id_used_for_another_order_is_a_conflict(web, api, products):
    api.post(RETURNS, return_body(delivered(web)), format="json")

    response = api.post(RETURNS, return_body(delivered(web, phone="13900000009")), format="json")

    assert "RT-1" in assert_problem(response, 409, "duplicate-return")["detail"]
    assert ReturnRequest.objects.count() == 1


def test_channels_return_ids_do_not_meet(web, app_channel, api, products):
    api.post(RETURNS, return_body(delivered(web)), format="json")

    response = channel_client(app_channel).post(
        RETURNS, return_body(delivered(app_channel, phone="13900000009")), format="json"
    )

    assert response.status_code == 201
    assert ReturnRequest.objects.count() == 2


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(web, api, products):
    order = delivered(web)

    first = api.post(RETURNS, return_body(order), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    again = api.post(RETURNS, return_body(order), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    other = api.post(RETURNS, return_body(order, channel_return_id="RT-2"), format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert_problem(other, 422, "idempotency-key-reused")
    assert ReturnRequest.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_identical_requests_at_once_ask_for_one_return(web, products):
    order = delivered(web)
    secret = orders.issue_token(web.pk, actor=SYSTEM).secret

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client.post(RETURNS, return_body(order), format="json")

    responses = race(*[send] * 5)

    assert sorted(getattr(r, "status_code", r) for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["number"] for r in responses}) == 1
    assert ReturnRequest.objects.count() == 1


# The order's returns ----------------------------------------------------------------------------


def test_the_order_detail_lists_its_returns_with_status_and_resolution(web, api, products):
    order = delivered(web)
    asked = api.post(RETURNS, return_body(order), format="json").json()
    rejected = returns.request_return(
        order.pk,
        lines=[returns.ReturnLineInput(order.lines.get(sku="MUG").pk, 1, "changed_mind")],
        wanted_outcome="exchange",
        actor=staff("Customer service"),
    )
    returns.reject_return(rejected.pk, reason="Opened and used", actor=staff("Customer service"))

    body = api.get(f"{ORDERS}{order.number}/").json()

    assert [
        (r["number"], r["status"], r["wanted_outcome"], r["resolution"], r["channel_return_id"])
        for r in body["returns"]
    ] == [
        (asked["number"], "requested", "refund", "", "RT-1"),
        (rejected.number, "rejected", "exchange", "", ""),
    ]


def test_an_order_without_returns_lists_none(web, api, products):
    order = place(web, lines=[("KETTLE", 1)])

    assert api.get(f"{ORDERS}{order.number}/").json()["returns"] == []


def test_the_schema_documents_returns_with_named_enums(client):
    document = client.get("/api/schema/", {"format": "json"}).json()

    assert {"/api/v1/returns/", "/api/v1/returns/{number}/"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    assert schemas["ReturnStatusEnum"]["enum"] == [status.value for status in ReturnRequest.Status]
    assert {"ReturnReasonEnum", "OutcomeEnum"} <= set(schemas)
    assert "returns" in schemas["Order"]["properties"]
    assert set(document["paths"]["/api/v1/returns/"]["post"]["responses"]) >= {"200", "201", "400", "404", "409"}


def test_errors_come_as_problem_details(web, api):
    response = api.get(f"{RETURNS}RMA-NONE/")

    assert response["Content-Type"] == PROBLEM
    assert_problem(response, 404, "not-found")


def test_real_return_answers_match_the_schema(web, products):
    """Generated requests (test_api_schema) rarely name a real delivered order: these ask for and
    read real returns and check the answers against the schema."""
    order = delivered(web)
    auth = {"Authorization": f"Bearer {orders.issue_token(web.pk, actor=SYSTEM).secret}"}

    def answer(path, method, status_code, **request):
        case = schema[path][method].Case(headers=auth, **request)
        response = case.call()
        assert response.status_code == status_code, (path, response.text)
        case.validate_response(response, checks=CHECKS)
        return response.json()

    asked = answer(RETURNS, "POST", 201, body=return_body(order))
    assert answer(RETURNS, "POST", 200, body=return_body(order)) == asked
    answer(RETURNS, "POST", 409, body=return_body(delivered(web, phone="13900000009")))
    answer(RETURNS, "POST", 400, body=return_body(order, ("CUP", 1, "quality"), channel_return_id="RT-2"))
    answer("/api/v1/returns/{number}/", "GET", 200, path_parameters={"number": asked["number"]})
    detail = answer("/api/v1/orders/{number}/", "GET", 200, path_parameters={"number": order.number})
    assert [r["number"] for r in detail["returns"]] == [asked["number"]]
