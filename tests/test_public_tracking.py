"""The public tracking page: the right order number and phone ending show the order's progress and
its parcels; anything else shows nothing about any order, and guessing is cut off."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from logistics import services
from logistics.models import TrackingEvent, TrackingLookup
from logistics.services import public_tracking
from orders import services as orders
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place, stock

pytestmark = pytest.mark.django_db

URL = "/track/"
PHONE = "13812345678"


@pytest.fixture
def product():
    product = ProductFactory(name="Ceramic teapot")
    stock(product, WarehouseFactory(), 20)
    return product


@pytest.fixture
def order(product):
    order = advance(place(lines=[(product, 2)], phone=PHONE, recipient="王小明", address="文三路 90 号"), "shipped")
    parcel = order.shipments.get()
    services.record_tracking_event(
        parcel.pk,
        status="in_transit",
        occurred_at=timezone.now() - timedelta(hours=3),
        location="杭州转运中心",
        description="快件已到达转运中心",
        source=TrackingEvent.Source.WEBHOOK,
        actor=SYSTEM,
    )
    return order


def look_up(client, number, digits, address="203.0.113.7", phone_whole=None, **headers):
    data = {"order": number, "phone_last_four": digits}
    if phone_whole is not None:
        data = {"order": number, "phone_whole": phone_whole}
    return client.post(URL, data, REMOTE_ADDR=address, **headers)


def without_csrf(content):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content.decode())


def assert_reveals_nothing(response, order, product):
    content = response.content.decode()
    for secret in (
        "王小明",
        "王*",
        "文三路",
        "杭州市",
        PHONE,
        "5678",
        product.sku,
        product.name,
        order.shipments.get().tracking_number,
        "杭州转运中心",
    ):
        assert secret not in content, secret


def test_the_page_lives_at_track_and_takes_the_order_number_from_the_link(client):
    response = client.get(URL, {"order": "OC250301-000123"})

    assert reverse("track") == URL
    assert response.status_code == 200
    assert 'value="OC250301-000123"' in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_the_right_phone_ending_shows_the_progress_and_the_parcels_events(client, order, product):
    parcel = order.shipments.get()

    response = look_up(client, order.number.lower(), "5678")

    content = response.content.decode()
    assert response.status_code == 200
    assert order.number in content
    assert [str(step["label"]) for step in response.context["progress"] if step["done"]] == [
        "Order placed",
        "Confirmed",
        "Shipped",
    ]
    assert "王*" in content and "杭州市" in content
    assert "杭州转运中心" in content and "快件已到达转运中心" in content
    assert parcel.tracking_url.replace("&", "&amp;") in content
    assert str(parcel.expected_delivery_on.year) in content


def test_the_right_phone_ending_still_shows_no_personal_data_beyond_masked_name_and_city(client, order, product):
    content = look_up(client, order.number, "5678").content.decode()
    # Machine-readable times carry microseconds, and the order number a row id: either may hold any
    # three digits, such as the phone's prefix.
    shown = re.sub(r'datetime="[^"]*"', "", content).replace(order.number, "")

    for secret in ("王小明", "文三路", PHONE, "138", "西湖区", product.sku, product.name):
        assert secret not in shown, secret


def test_a_wrong_phone_ending_reveals_nothing_and_reads_like_an_unknown_order(client, order, product):
    wrong = look_up(client, order.number, "0000")
    unknown = look_up(client, "OC000000-000000", "5678")

    assert_reveals_nothing(wrong, order, product)
    assert wrong.status_code == unknown.status_code == 200
    assert "We found no order with this number and phone number ending." in wrong.content.decode()
    assert without_csrf(wrong.content) == without_csrf(unknown.content).replace("OC000000-000000", order.number)


def test_wrong_guesses_are_recorded_per_client_and_order_number(client, order):
    look_up(client, order.number, "0000", address="198.51.100.1")

    lookup = TrackingLookup.objects.get()
    assert (lookup.client, lookup.order_number) == ("198.51.100.1", order.number)


def test_wrong_guesses_from_other_addresses_never_lock_the_customer_out_of_their_order(client, order, product):
    for attempt in range(3 * public_tracking.MAX_FAILED_LOOKUPS_PER_CLIENT_AND_ORDER):
        look_up(client, order.number, f"{attempt:04d}", address=f"192.0.2.{attempt}")

    customer = look_up(client, order.number, "5678", address="198.51.100.20", phone_whole=PHONE)

    assert customer.status_code == 200
    assert "王*" in customer.content.decode()


def test_after_too_many_wrong_guesses_on_one_order_that_client_is_refused_for_that_order_until_the_window_passes(
    client, order, product
):
    for attempt in range(public_tracking.MAX_FAILED_LOOKUPS_PER_CLIENT_AND_ORDER):
        look_up(client, order.number, f"{attempt:04d}", address="192.0.2.1")

    refused = look_up(client, order.number, "5678", address="192.0.2.1")

    assert refused.status_code == 429
    assert "Too many attempts" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert_reveals_nothing(refused, order, product)
    assert TrackingLookup.objects.count() == public_tracking.MAX_FAILED_LOOKUPS_PER_CLIENT_AND_ORDER

    TrackingLookup.objects.update(
        created_at=timezone.now() - public_tracking.TRACKING_LOOKUP_WINDOW - timedelta(seconds=1)
    )
    assert look_up(client, order.number, "5678", address="192.0.2.1", phone_whole=PHONE).status_code == 200


def test_an_order_guessed_at_from_many_addresses_asks_for_the_whole_phone_number_instead_of_locking(
    client, order, product
):
    for attempt in range(public_tracking.WHOLE_PHONE_AFTER_FAILED_LOOKUPS):
        look_up(client, order.number, f"{attempt:04d}", address=f"192.0.2.{attempt}")

    asked = look_up(client, order.number, "5678", address="198.51.100.20")
    wrong = look_up(client, order.number, "", address="198.51.100.21", phone_whole="13812340000")
    right = look_up(client, order.number, "", address="198.51.100.20", phone_whole="138 1234 5678")

    assert asked.status_code == 200
    assert "Enter the whole phone number" in asked.content.decode()
    assert 'name="phone_whole"' in asked.content.decode()
    assert_reveals_nothing(asked, order, product)
    assert_reveals_nothing(wrong, order, product)
    assert TrackingLookup.objects.filter(client="198.51.100.21").count() == 1
    assert right.status_code == 200 and "王*" in right.content.decode()


def test_an_unknown_order_guessed_at_asks_for_the_whole_phone_number_just_the_same(client, order):
    for attempt in range(public_tracking.WHOLE_PHONE_AFTER_FAILED_LOOKUPS):
        look_up(client, "OC000000-000001", f"{attempt:04d}", address=f"192.0.2.{attempt}")

    asked = look_up(client, "OC000000-000001", "5678", address="198.51.100.20")

    assert 'name="phone_whole"' in asked.content.decode()


def test_after_too_many_wrong_guesses_from_one_client_it_is_refused_for_every_order(client, order, product):
    for attempt in range(public_tracking.MAX_FAILED_LOOKUPS_PER_CLIENT):
        look_up(client, f"OC000000-{attempt:06d}", "1111", address="203.0.113.9")

    refused = look_up(client, order.number, "5678", address="203.0.113.9")
    elsewhere = look_up(client, order.number, "5678", address="203.0.113.10")

    assert refused.status_code == 429
    assert_reveals_nothing(refused, order, product)
    assert elsewhere.status_code == 200 and "王*" in elsewhere.content.decode()


def test_a_malformed_ending_is_refused_without_looking_anything_up(client, order):
    response = look_up(client, order.number, "56a8")

    assert response.status_code == 200
    assert "Enter four digits." in response.content.decode()
    assert not TrackingLookup.objects.exists()


def test_the_page_speaks_the_browsers_language(client, order):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert '<html lang="zh-hans">' in response.content.decode()


def test_a_cancelled_order_shows_it_was_cancelled(client, product):
    order = place(lines=[(product, 1)], phone=PHONE)
    orders.cancel(order.pk, actor=SYSTEM, reason="Customer changed their mind")

    response = look_up(client, order.number, "5678")

    assert [str(step["label"]) for step in response.context["progress"]] == ["Order placed", "Cancelled"]
    assert response.context["parcels"] == []


def test_a_parcel_still_being_packed_shows_no_tracking_number_yet(client, product):
    order = advance(place(lines=[(product, 1)], phone=PHONE), "packed")
    services.assign_tracking_number(order.shipments.get().pk, CarrierFactory().pk, "SF5550000000012", actor=SYSTEM)

    response = look_up(client, order.number, "5678")

    (parcel,) = response.context["parcels"]
    assert (str(parcel["status"]), parcel["tracking_number"]) == ("Being prepared", "")
    assert "SF5550000000012" not in response.content.decode()


def test_behind_a_proxy_guesses_are_counted_per_client_the_proxy_names(client, order, product, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    for attempt in range(public_tracking.MAX_FAILED_LOOKUPS_PER_CLIENT):
        look_up(client, f"OC000000-{attempt:06d}", "1111", address="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")

    refused = look_up(client, order.number, "5678", address="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
    customer = look_up(client, order.number, "5678", address="10.0.0.1", HTTP_X_REAL_IP="198.51.100.4")

    assert refused.status_code == 429
    assert customer.status_code == 200 and "王*" in customer.content.decode()
