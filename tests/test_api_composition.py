"""The channel API is composed, not inherited: each app serves its own resources, and the order's
representation takes the shipments and returns that logistics and after-sales add to it through
orders.events.ORDER_API_PARTS, at the same cost in queries however many there are."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from rest_framework import serializers
from rest_framework.test import APIClient

from aftersales import api as aftersales_api
from aftersales.models import Outcome, ReturnReason
from aftersales.services import returns
from core.actors import SYSTEM
from logistics import api as logistics_api
from orders import services as orders
from orders.api import views as order_views
from orders.api.serializers import OrderPart
from orders.events import ORDER_API_PARTS
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channel():
    return ChannelFactory(code="web", name="Web shop")


@pytest.fixture
def api(channel):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {orders.issue_token(channel.pk, actor=SYSTEM).secret}")
    return client


@pytest.fixture
def products():
    """A kettle kept in one warehouse and a mug in another: an order of both leaves in two parcels."""
    kettle, mug = ProductFactory(sku="KETTLE", unit_price=Decimal("199.00")), ProductFactory(sku="MUG")
    stock(kettle, WarehouseFactory(), 50)
    stock(mug, WarehouseFactory(), 50)
    return kettle, mug


_phones = iter(range(10**6))


def delivered(channel, *lines, returned=0):
    order = advance(place(channel, lines=list(lines), phone=f"1390000{next(_phones):04d}"), "delivered")
    for _n in range(returned):
        line = order.lines.first()
        returns.request_return(
            order.pk,
            lines=[returns.ReturnLineInput(order_line_id=line.pk, quantity=1, reason=ReturnReason.QUALITY)],
            wanted_outcome=Outcome.REFUND,
            actor=SYSTEM,
        )
    return order


def detail(api, order):
    response = api.get(f"/api/v1/orders/{order.number}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_each_app_serves_its_own_resources_and_the_url_configuration_puts_them_together():
    assert resolve("/api/v1/orders/").func.cls is order_views.OrderViewSet
    assert resolve("/api/v1/orders/OC1/cancel/").func.cls is order_views.OrderViewSet
    assert resolve("/api/v1/returns/").func.cls is aftersales_api.ReturnViewSet
    assert resolve("/api/v1/tracking-events/").func.view_class is logistics_api.TrackingEventsView
    # The order viewset inherits nothing from the apps above orders.
    assert {cls.__module__.split(".")[0] for cls in order_views.OrderViewSet.__mro__} & {
        "logistics",
        "aftersales",
    } == set()


def test_the_order_shows_the_shipments_and_returns_the_apps_above_orders_add(api, channel, products):
    order = delivered(channel, (products[0], 1), returned=1)
    assert ORDER_API_PARTS.subscribers == [logistics_api.order_shipments, aftersales_api.order_returns]

    body = detail(api, order)

    assert list(body)[-5:] == ["lines", "payments", "refunds", "shipments", "returns"]
    assert [parcel["status"] for parcel in body["shipments"]] == ["delivered"]
    assert [case["status"] for case in body["returns"]] == ["requested"]


def test_the_order_alone_has_its_own_fields_and_takes_any_part_subscribed(api, channel, products, monkeypatch):
    order = delivered(channel, (products[0], 1))
    monkeypatch.setattr(ORDER_API_PARTS, "subscribers", [])
    assert list(detail(api, order))[-3:] == ["lines", "payments", "refunds"]

    def line_count():
        return OrderPart(name="line_count", field=serializers.IntegerField(source="lines.count"), lookup="lines")

    monkeypatch.setattr(ORDER_API_PARTS, "subscribers", [line_count])
    assert detail(api, order)["line_count"] == 1


def test_the_order_costs_the_same_queries_however_many_parcels_events_and_returns_it_has(api, channel, products):
    small = delivered(channel, (products[0], 1))
    large = delivered(channel, (products[0], 2), (products[1], 3), returned=2)

    detail(api, small)  # the first request of a token also notes when it was last used

    def queries_for(order):
        with CaptureQueriesContext(connection) as queries:
            body = detail(api, order)
        return len(queries), len(body["shipments"]), len(body["returns"])

    small_queries, *small_parts = queries_for(small)
    large_queries, *large_parts = queries_for(large)

    assert (small_parts, large_parts) == ([1, 0], [2, 2])
    assert large_queries == small_queries
