"""The order list's status tabs (capped counts under the list's other filters, one query each) and
each person's saved views (kept, listed, deleted, never seen by anyone else)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services
from orders.admin import tabs
from orders.models import Order, SavedView
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock

pytestmark = pytest.mark.django_db

ORDER_LIST = reverse("admin:orders_order_changelist")
SAVE_VIEW = reverse("admin:orders_order_save_view")


@pytest.fixture
def product():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 100)
    return product


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def tab_counts(response):
    return {tab["key"]: tab["count"] for tab in response.context["tabs"]}


def current_tab(response):
    return [tab["key"] for tab in response.context["tabs"] if tab["current"]]


def listed(response):
    return sorted(order.number for order in response.context["cl"].result_list)


def test_each_tab_counts_its_orders_and_lists_them(client, product):
    confirmed = [place_apart(lines=[(product, 1)]) for _ in range(3)]
    picking = advance(place_apart(lines=[(product, 1)]), "picking")
    shipped = advance(place_apart(lines=[(product, 1)]), "shipped")
    signed_in(client, "Customer service")

    everything = client.get(ORDER_LIST)
    counts = tab_counts(everything)
    assert (counts["all"], counts["confirmed"], counts["picking"], counts["shipped"], counts["review"]) == (
        "5",
        "3",
        "1",
        "1",
        "0",
    )
    assert current_tab(everything) == ["all"]

    confirmed_tab = client.get(ORDER_LIST, {"tab": "confirmed"})
    assert listed(confirmed_tab) == sorted(order.number for order in confirmed)
    assert current_tab(confirmed_tab) == ["confirmed"]
    assert 'aria-current="page" data-tab="confirmed"' in confirmed_tab.content.decode()
    assert listed(client.get(ORDER_LIST, {"tab": "shipped"})) == [shipped.number]
    assert picking.number not in listed(confirmed_tab)


def test_tab_counts_keep_the_lists_other_filters(client, product):
    web, market = ChannelFactory(code="web"), ChannelFactory(code="tmall", name="Tmall")
    place_apart(web, lines=[(product, 1)])
    place_apart(market, lines=[(product, 1)])
    place_apart(market, lines=[(product, 1)])
    signed_in(client, "Customer service")

    response = client.get(ORDER_LIST, {"channel__id__exact": market.pk, "tab": "confirmed"})

    assert tab_counts(response)["all"] == "2"
    assert tab_counts(response)["confirmed"] == "2"
    confirmed_link = next(tab["url"] for tab in response.context["tabs"] if tab["key"] == "picking")
    assert f"channel__id__exact={market.pk}" in confirmed_link and "tab=picking" in confirmed_link


def test_tab_counts_stop_at_the_cap(client, product, monkeypatch):
    monkeypatch.setattr(tabs, "TAB_COUNT_CAP", 2)
    for _ in range(3):
        place_apart(lines=[(product, 1)])
    signed_in(client, "Analyst")

    counts = tab_counts(client.get(ORDER_LIST))

    assert counts["all"] == "2+"
    assert counts["confirmed"] == "2+"
    assert counts["cancelled"] == "0"


def test_each_tab_costs_one_query(client, product):
    place_apart(lines=[(product, 1)])
    signed_in(client, "Customer service")
    client.get(ORDER_LIST)  # sessions, permissions and caches warmed up
    with CaptureQueriesContext(connection) as with_tabs:
        client.get(ORDER_LIST)
    counting = [q["sql"] for q in with_tabs.captured_queries if "COUNT(" in q["sql"].upper()]
    # One per tab, and the list's own count.
    assert len(counting) == len(tabs.ORDER_TABS) + 1


def test_a_searched_list_counts_its_tabs_over_the_orders_found_in_two_queries(client, product):
    market = ChannelFactory(code="tmall", name="Tmall")
    found = [place_apart(market, lines=[(product, 1)]) for _ in range(2)]
    advance(found[1], "picking")
    place_apart(lines=[(product, 1)])
    signed_in(client, "Customer service")
    query = {"channel__id__exact": market.pk}
    client.get(ORDER_LIST, query)
    with CaptureQueriesContext(connection) as searched:
        response = client.get(ORDER_LIST, query)

    counts = tab_counts(response)
    assert (counts["all"], counts["confirmed"], counts["picking"], counts["shipped"]) == ("2", "1", "1", "0")
    # The list's own count, then the tabs': the orders found, once, and every tab over them.
    counting = [q["sql"] for q in searched.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counting) == 2


def test_a_filter_finding_more_than_the_cap_counts_each_tab_up_to_it(client, product, monkeypatch):
    monkeypatch.setattr(tabs, "TAB_COUNT_CAP", 2)
    market = ChannelFactory(code="tmall", name="Tmall")
    for _ in range(3):
        place_apart(market, lines=[(product, 1)])
    advance(place_apart(market, lines=[(product, 1)]), "picking")
    signed_in(client, "Customer service")

    counts = tab_counts(client.get(ORDER_LIST, {"channel__id__exact": market.pk}))

    assert (counts["all"], counts["confirmed"], counts["picking"], counts["shipped"]) == ("2+", "2+", "1", "0")


def test_a_search_finding_more_than_the_cap_leaves_the_tabs_uncounted(client, product, monkeypatch):
    monkeypatch.setattr(tabs, "TAB_COUNT_CAP", 2)
    for _ in range(3):
        place_apart(lines=[(product, 1)])
    signed_in(client, "Customer service")

    response = client.get(ORDER_LIST, {"q": product.sku})

    assert len(listed(response)) == 3
    counts = tab_counts(response)
    assert counts["all"] == "2+"
    assert counts["confirmed"] == counts["picking"] == ""
    assert 'data-tab="confirmed">Confirmed</a>' in response.content.decode()


def test_a_status_filter_makes_no_tab_current(client, product):
    place_apart(lines=[(product, 1)])
    signed_in(client, "Customer service")
    response = client.get(ORDER_LIST, {"status__exact": Order.Status.COMPLETED})
    assert current_tab(response) == []


# Saved views ----------------------------------------------------------------------------------


def test_a_saved_view_keeps_the_filters_and_is_listed_as_a_link(client, product):
    place_apart(lines=[(product, 1)])
    user = signed_in(client, "Customer service")

    saved = client.post(SAVE_VIEW, {"name": "My picking", "query": "tab=picking&p=3&channel__id__exact=1"}, follow=True)

    view = SavedView.objects.get(user=user)
    assert (view.name, view.query) == ("My picking", "tab=picking&channel__id__exact=1")
    assert saved.request["QUERY_STRING"] == view.query
    assert [v.name for v in saved.context["saved_views"]] == ["My picking"]
    assert f'href="?{view.query.replace("&", "&amp;")}"' in saved.content.decode()


def test_saving_under_the_same_name_replaces_the_view(client):
    user = signed_in(client, "Customer service")
    client.post(SAVE_VIEW, {"name": "Today", "query": "placed=today"})
    client.post(SAVE_VIEW, {"name": "Today", "query": "placed=today&tab=review"})
    assert list(SavedView.objects.filter(user=user).values_list("query", flat=True)) == ["placed=today&tab=review"]


def test_nobody_sees_or_deletes_another_persons_views(client):
    owner = staff("Customer service")
    view = services.save_view("Owner's view", "tab=review", actor=owner)
    signed_in(client, "Customer service")

    response = client.get(ORDER_LIST)
    assert response.context["saved_views"] == []
    assert "Owner&#x27;s view" not in response.content.decode()

    client.post(reverse("admin:orders_order_delete_view", args=[view.pk]))
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_a_person_deletes_their_own_view(client):
    user = signed_in(client, "Analyst")
    view = services.save_view("Mine", "tab=review", actor=user)
    response = client.post(reverse("admin:orders_order_delete_view", args=[view.pk]), follow=True)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert "View deleted." in [str(m) for m in response.context["messages"]]


def test_a_view_needs_a_name(client):
    signed_in(client, "Analyst")
    client.post(SAVE_VIEW, {"name": "  ", "query": "tab=review"})
    assert not SavedView.objects.exists()
