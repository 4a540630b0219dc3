"""Interception and parcels coming back in the console and on the public tracking page: a
coordinator requests an interception from the shipment's page and records the carrier's answer,
the warehouse scans the parcel coming back and books its lines, the order page flags a failed
interception, and the customer reads that the parcel is coming back and nothing more."""

from decimal import Decimal

import pytest

from core.actors import SYSTEM
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import Interception, Shipment
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, advance, place_apart, staff, stock

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture
def kettle():
    product = ProductFactory(sku="KETTLE", unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(code="WH1"), 20)
    return product


@pytest.fixture
def parcel(kettle):
    order = place_apart(lines=[(kettle, 2)], payment_method="card", paid_amount="50.00", phone=PHONE)
    return advance(order, "shipped").shipments.get()


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def test_a_coordinator_requests_interception_from_the_shipment_page(client, parcel):
    signed_in(client, "Logistics coordinator")
    page = client.get(f"/admin/logistics/shipment/{parcel.pk}/change/")
    url = f"/admin/logistics/interception/request/{parcel.pk}/"
    assert url in page.content.decode()

    response = client.post(url, {"reason": "cancelled", "note": "Customer cancelled", "carrier_reference": ""})

    interception = Interception.objects.get()
    assert response.status_code == 302 and response.url == f"/admin/logistics/interception/{interception.pk}/change/"
    detail = client.get(response.url).content.decode()
    assert "Interception requested" in detail and "Customer cancelled" in detail
    assert f"/admin/logistics/interception/{interception.pk}/outcome/" in detail
    assert url not in client.get(f"/admin/logistics/shipment/{parcel.pk}/change/").content.decode()


def test_a_refused_request_is_shown_on_the_form(client, parcel):
    signed_in(client, "Logistics coordinator")
    logistics.mark_delivered(parcel.pk, actor=SYSTEM)

    response = client.post(f"/admin/logistics/interception/request/{parcel.pk}/", {"reason": "cancelled"})

    assert response.status_code == 200
    assert "can no longer be intercepted" in response.content.decode()
    assert not Interception.objects.exists()


def test_the_warehouse_may_not_request_interception(client, parcel):
    signed_in(client, "Warehouse operator")

    assert client.get(f"/admin/logistics/interception/request/{parcel.pk}/").status_code == 403
    assert "interception/request" not in client.get(f"/admin/logistics/shipment/{parcel.pk}/change/").content.decode()


def test_the_carriers_answer_with_its_fee_is_recorded(client, parcel):
    coordinator = signed_in(client, "Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator)

    response = client.post(
        f"/admin/logistics/interception/{interception.pk}/outcome/",
        {"outcome": "intercepted", "fee": "12.00", "carrier_reference": "LJ1", "note": ""},
    )

    assert response.status_code == 302
    interception.refresh_from_db()
    assert interception.status == Interception.Status.INTERCEPTED and interception.fee == Decimal("12.00")


def test_a_bad_fee_is_named_on_the_form(client, parcel):
    coordinator = signed_in(client, "Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator)

    response = client.post(
        f"/admin/logistics/interception/{interception.pk}/outcome/", {"outcome": "intercepted", "fee": "-3"}
    )

    assert response.status_code == 200 and "Enter a fee of zero or more." in response.content.decode()


def test_a_failed_interception_is_flagged_on_the_order_page_and_queued(client, parcel):
    coordinator = signed_in(client, "Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="refunded", actor=coordinator)
    logistics.record_interception_outcome(interception.pk, intercepted=False, actor=coordinator)

    order_page = client.get(f"/admin/orders/order/{parcel.order_id}/change/").content.decode()
    queue = client.get("/admin/logistics/interception/?awaiting=decision").content.decode()

    assert "decide on a return or a refund" in order_page
    assert str(parcel.tracking_number) in queue


def test_the_warehouse_scans_a_parcel_coming_back_and_books_it(client, parcel, kettle):
    coordinator = staff("Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator)
    logistics.record_interception_outcome(interception.pk, intercepted=True, actor=coordinator)
    signed_in(client, "Warehouse operator")
    assert "/admin/logistics/shipment/coming-back/" in client.get("/admin/logistics/shipment/").content.decode()
    station = client.get("/admin/logistics/shipment/coming-back/").content.decode()
    assert parcel.tracking_number in station

    scanned = client.post("/admin/logistics/shipment/coming-back/", {"tracking_number": parcel.tracking_number})
    assert scanned.status_code == 302 and scanned.url == f"/admin/logistics/shipment/{parcel.pk}/receive-back/"
    line = parcel.lines.get()
    wrong = client.post(scanned.url, {f"sellable-{line.pk}": "1", f"quarantined-{line.pk}": "0"})
    assert wrong.status_code == 200 and "must add up to that" in wrong.content.decode()
    booked = client.post(scanned.url, {f"sellable-{line.pk}": "1", f"quarantined-{line.pk}": "1"})

    assert booked.status_code == 302
    level = StockLevel.objects.get(product=kettle)
    assert (level.on_hand, level.quarantined) == (19, 1)
    assert Order.objects.get(pk=parcel.order_id).status == Order.Status.RETURNED
    assert Shipment.objects.get(pk=parcel.pk).status == Shipment.Status.RECEIVED_BACK


def test_a_parcel_not_coming_back_is_named_when_scanned(client, parcel):
    signed_in(client, "Warehouse operator")

    response = client.post("/admin/logistics/shipment/coming-back/", {"tracking_number": parcel.tracking_number})

    assert response.status_code == 200 and "not coming back" in response.content.decode()


def test_coordinators_do_not_receive_parcels_back(client, parcel):
    signed_in(client, "Logistics coordinator")

    assert client.get("/admin/logistics/shipment/coming-back/").status_code == 403
    assert "/admin/logistics/shipment/coming-back/" not in client.get("/admin/logistics/shipment/").content.decode()


def test_the_exceptions_list_shows_the_interception_and_the_way_to_receive(client, parcel):
    coordinator = staff("Logistics coordinator")
    interception = logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator)
    logistics.record_interception_outcome(interception.pk, intercepted=True, actor=coordinator)
    signed_in(client, "Manager")

    page = client.get("/admin/logistics/shipment/exceptions/?kind=returned").content.decode()

    assert "Intercepted: coming back" in page
    assert f"/admin/logistics/shipment/{parcel.pk}/receive-back/" in page


def test_the_customer_reads_that_the_parcel_is_coming_back_and_nothing_of_the_interception(client, parcel):
    coordinator = staff("Logistics coordinator")
    interception = logistics.request_interception(
        parcel.pk, reason="cancelled", note="Suspected fraud", actor=coordinator
    )
    logistics.record_interception_outcome(interception.pk, intercepted=True, fee="9.00", actor=coordinator)

    page = client.post(
        "/track/", {"order": parcel.order.number, "phone_last_four": PHONE[-4:]}, REMOTE_ADDR="203.0.113.9"
    ).content.decode()

    assert "Coming back to the shop" in page
    for internal in ("Suspected fraud", "Interception", "intercept", "9.00"):
        assert internal not in page, internal


def test_the_interception_settings_open_for_a_manager(client):
    signed_in(client, "Manager")

    response = client.get("/admin/logistics/interceptionsettings/", follow=True)

    assert response.status_code == 200 and "refund waits for the parcel" in response.content.decode().lower()
