"""The review queue (docs/architecture.md, "Finding orders"): its search and filters, the stock
available for each line so a shortage shows before approving, a page's fixed number of queries, and
"Approve and open the next" on a held order's page, which keeps the queue's filters."""

from datetime import timedelta
from decimal import Decimal
from itertools import count
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db

REVIEW_QUEUE = reverse("admin:orders_heldorder_changelist")
_numbers = count(1)


def held(product, quantity=1, **overrides):
    """Held because a card order arrived unpaid; its own phone and address."""
    n = next(_numbers)
    values = {"payment_method": "card", "phone": f"1390000{n:04d}", "address": f"文三路 {n} 号"}
    values.update(overrides)
    order = place(lines=[(product, quantity)], **values)
    assert order.status == Order.Status.ON_HOLD
    return order


def queued(client, **params):
    response = client.get(REVIEW_QUEUE, params)
    assert response.status_code == 200
    return [order.number for order in response.context["cl"].result_list]


def approve_next_url(order, queue=""):
    url = reverse("admin:orders_order_approve_next", args=[order.pk])
    return f"{url}?queue={queue}" if queue else url


@pytest.fixture
def reviewer(client):
    client.force_login(staff("Order reviewer"))


@pytest.fixture
def product():
    item = ProductFactory(sku="A-100", unit_price=Decimal("50.00"))
    stock(item, WarehouseFactory(), 10)
    return item


def minutes_ago(minutes):
    return timezone.now() - timedelta(minutes=minutes)


# Search and filters ----------------------------------------------------------------------------


def test_queue_search_finds_held_orders_only(client, reviewer, product):
    wanted = held(product, recipient="张伟")
    held(product, recipient="李娜")
    place(lines=[(product, 1)], recipient="张伟", phone="13911112222", address="解放路 1 号")

    assert queued(client, q="张") == [wanted.number]
    assert queued(client, q=wanted.phone[-4:]) == [wanted.number]
    assert queued(client, q="A-100") == queued(client)


def test_queue_filters_by_channel_reason_placed_date_and_value(client, reviewer, product):
    marketplace = ChannelFactory(code="mkt", name="Marketplace")
    unpaid = held(product, placed_at=minutes_ago(30))
    on_marketplace = held(product, channel=marketplace, placed_at=minutes_ago(20))
    short = held(product, 20, payment_method="cod", placed_at=minutes_ago(10))
    last_month = held(product, placed_at=timezone.now() - timedelta(days=40))

    assert queued(client, channel=marketplace.pk) == [on_marketplace.number]
    assert queued(client, reason="out_of_stock") == [short.number]
    assert queued(client, reason="payment_mismatch") == [last_month.number, unpaid.number, on_marketplace.number]
    assert last_month.number not in queued(client, placed="7d")
    assert queued(client, value="500-2000") == [short.number]
    assert short.number not in queued(client, value="0-100")


# Stock on each line ------------------------------------------------------------------------------


def test_each_line_shows_the_stock_available_and_a_shortage(client, reviewer, product):
    paused = WarehouseFactory(reservations_paused_because="recount")
    stock(product, paused, 100)
    short = held(product, 14, payment_method="cod")
    fits = held(product, 2)

    content = client.get(REVIEW_QUEUE).content.decode()

    short_row = content[content.index(short.number) :]
    short_row = short_row[: short_row.index("</tr>")]
    # 10 units in the warehouse that takes reservations; the paused one's 100 cannot be promised.
    assert "A-100 ×14" in short_row and "10 available" in short_row and "short by 4" in short_row
    fits_row = content[content.index(fits.number) :]
    fits_row = fits_row[: fits_row.index("</tr>")]
    assert "A-100 ×2" in fits_row and "short by" not in fits_row


def test_a_page_of_held_orders_costs_the_same_queries_for_2_or_20(
    client, reviewer, product, django_assert_max_num_queries
):
    for _ in range(2):
        held(product)
    with CaptureQueriesContext(connection) as two:
        assert len(queued(client)) == 2
    for _ in range(18):
        other = ProductFactory()
        stock(other, WarehouseFactory(), 5)
        held(other)

    with django_assert_max_num_queries(len(two)):
        assert len(queued(client)) == 20


# Approve and open the next --------------------------------------------------------------------------


def test_approve_and_open_the_next_opens_the_next_held_order_of_the_queue(client, reviewer, product):
    first = held(product, placed_at=minutes_ago(30))
    second = held(product, placed_at=minutes_ago(20))
    third = held(product, placed_at=minutes_ago(10))

    response = client.post(approve_next_url(second), {"seen_status": "on_hold"})

    second.refresh_from_db()
    assert second.status == Order.Status.CONFIRMED
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:orders_order_change", args=[third.pk])
    # The last of the queue goes round to its first.
    response = client.post(approve_next_url(third), {"seen_status": "on_hold"})
    assert urlsplit(response["Location"]).path == reverse("admin:orders_order_change", args=[first.pk])


def test_approve_and_open_the_next_keeps_the_queues_filters(client, reviewer, product):
    marketplace = ChannelFactory(code="mkt", name="Marketplace")
    first = held(product, channel=marketplace, placed_at=minutes_ago(30))
    held(product, placed_at=minutes_ago(20))
    third = held(product, channel=marketplace, placed_at=minutes_ago(10))
    queue = f"channel={marketplace.pk}"

    # The queue's filters go to each order it links to, and from there to the step's form.
    content = client.get(f"{REVIEW_QUEUE}?{queue}").content.decode()
    assert f"/admin/orders/order/{first.pk}/change/?queue=channel%3D{marketplace.pk}" in content
    page = client.get(reverse("admin:orders_order_change", args=[first.pk]), {"queue": queue})
    (step,) = [step for step in page.context["steps"] if step["name"] == "approve_next"]
    assert parse_qs(urlsplit(step["action"]).query) == {"queue": [queue]}

    response = client.post(step["action"], {"seen_status": "on_hold"})

    location = urlsplit(response["Location"])
    assert location.path == reverse("admin:orders_order_change", args=[third.pk])
    assert parse_qs(location.query) == {"queue": [queue]}


def test_approving_the_last_held_order_goes_back_to_the_queue(client, reviewer, product):
    only = held(product)

    response = client.post(approve_next_url(only, "reason=payment_mismatch"), {"seen_status": "on_hold"}, follow=True)

    assert response.redirect_chain[-1][0] == f"{REVIEW_QUEUE}?reason=payment_mismatch"
    assert "No more held orders in this queue." in [str(m) for m in response.context["messages"]]


def test_a_refused_approval_stays_on_the_order_and_says_why(client, reviewer, product):
    short = held(product, 14, payment_method="cod")
    held(product)

    response = client.post(approve_next_url(short), {"seen_status": "on_hold"}, follow=True)

    short.refresh_from_db()
    assert short.status == Order.Status.ON_HOLD
    assert response.redirect_chain[-1][0] == reverse("admin:orders_order_change", args=[short.pk])
    assert any("Not enough stock" in str(m) for m in response.context["messages"])


def test_only_those_who_may_approve_get_approve_and_open_the_next(client, product):
    order = held(product)
    client.force_login(staff("Warehouse operator"))

    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert "approve_next" not in {step["name"] for step in page.context["steps"]}

    client.post(approve_next_url(order), {"seen_status": "on_hold"})
    order.refresh_from_db()
    assert order.status == Order.Status.ON_HOLD
