"""Who sees a customer's name, phone and street address in full (docs/architecture.md, "Personal
data"): the matrix of roles applied to every surface that shows them — the order list and page,
customers, the settlement statement, packing slips and labels, returns and tickets, exports, the
channel API and the SMS log."""

import csv
import io
import logging
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from aftersales import services as aftersales
from core.permissions import Aftersales
from core.privacy import mask_email, mask_name, mask_postcode, mask_street, sight_of
from orders.exports import ORDERS
from orders.models import Customer
from orders.notifications.sms import LogSMSBackend, SMSMessage
from tests.factories import (
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    channel_client,
    pick_all,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

NAME, PHONE_FULL, PHONE_MASKED = "王小明", "+86 138 0013 8000", "+86 138****8000"
STREET, POSTCODE = "文三路 90 号", "310012"
NAME_MASKED, STREET_MASKED, POSTCODE_MASKED = "王**", "****", "31****"

# (name, phone, street) seen in full, per role: the matrix of docs/architecture.md, "Personal data".
MATRIX = {
    "Order reviewer": (True, True, True),
    "Warehouse operator": (True, False, True),
    "Logistics coordinator": (True, True, True),
    "Customer service": (True, True, True),
    "Finance": (True, True, False),
    "Analyst": (False, False, False),
    "Manager": (True, True, True),
}


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 50)
    return item


@pytest.fixture
def order(product):
    return place(
        lines=[(product, 1)],
        recipient=NAME,
        phone="13800138000",
        address=STREET,
        postcode=POSTCODE,
        special_instructions="Gate code 4711",
    )


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def expect_shown(content, *, name, phone, street=None):
    assert (NAME in content) is name
    assert (NAME_MASKED in content) is not name
    assert (PHONE_FULL in content) is phone
    assert (PHONE_MASKED in content) is not phone
    if street is not None:
        assert (STREET in content) is street
        assert ("Gate code 4711" in content) is street


def test_masks_keep_what_tells_apart_and_hide_what_names_someone():
    assert mask_name("张三丰") == "张**"
    assert mask_name("Li  Wei") == "L* W**"
    assert mask_street("文三路 90 号") == "****"
    assert mask_street("") == ""
    assert mask_postcode("310012") == "31****"
    assert mask_email("wang@example.com") == "w***@example.com"
    assert mask_email("") == ""


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_each_role_sees_what_the_matrix_gives_it_in_full(role):
    name, phone, street = MATRIX[role]

    sight = sight_of(staff(role))

    assert (sight.name, sight.phone, sight.address) == (name, phone, street)


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_the_order_list_shows_names_and_phones_as_the_role_may_see_them(client, order, role):
    name, phone, _street = MATRIX[role]
    signed_in(client, role)

    content = client.get(reverse("admin:orders_order_changelist")).content.decode()

    assert order.number in content
    expect_shown(content, name=name, phone=phone)


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_the_order_page_shows_name_phone_and_address_as_the_role_may_see_them(client, order, role):
    name, phone, street = MATRIX[role]
    signed_in(client, role)

    content = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    expect_shown(content, name=name, phone=phone, street=street)
    # The region is every role's: it names nobody.
    assert "浙江省 杭州市 西湖区" in content
    assert (f"{STREET} · {POSTCODE}" in content) is street
    assert (f"{STREET_MASKED} · {POSTCODE_MASKED}" in content) is not street


def test_a_role_that_sees_names_masked_cannot_find_an_order_by_the_whole_name(client, order):
    signed_in(client, "Analyst")
    masked = client.get(reverse("admin:orders_order_changelist"), {"q": NAME}).content.decode()
    signed_in(client, "Customer service")
    whole = client.get(reverse("admin:orders_order_changelist"), {"q": NAME}).content.decode()

    assert order.number not in masked
    assert order.number in whole


@pytest.mark.parametrize("role", ["Customer service", "Analyst", "Warehouse operator"])
def test_customers_are_listed_and_shown_as_the_role_may_see_them(client, order, role):
    name, phone, _street = MATRIX[role]
    Customer.objects.filter(pk=order.customer_id).update(email="wang@example.com")
    signed_in(client, role)

    listed = client.get(reverse("admin:orders_customer_changelist")).content.decode()
    page = client.get(reverse("admin:orders_customer_change", args=[order.customer_id])).content.decode()

    for content in (listed, page):
        assert (NAME in content) is name
        assert ("wang@example.com" in content) is phone
        assert ("w***@example.com" in content) is not phone
    assert ('<th class="field-name_masked"><a' in listed) is not name
    # The page's title and breadcrumbs name the customer masked for everyone; the field follows the role.
    assert (f'<div class="readonly">{NAME_MASKED}</div>' in page) is not name


def test_a_role_that_sees_names_masked_cannot_find_a_customer_by_name(client, order):
    signed_in(client, "Analyst")

    content = client.get(reverse("admin:orders_customer_changelist"), {"q": NAME}).content.decode()

    assert reverse("admin:orders_customer_change", args=[order.customer_id]) not in content


def test_customer_titles_show_the_masked_name_whoever_looks(order):
    assert str(order.customer) == NAME_MASKED


def test_finance_sees_the_settlement_statement_without_the_street(client, order):
    signed_in(client, "Finance")

    content = client.get(reverse("admin:orders_order_statement", args=[order.pk])).content.decode()

    assert NAME in content
    assert "浙江省 杭州市 西湖区" in content
    assert STREET not in content and f"西湖区 {STREET_MASKED}" in content


def test_the_packer_prints_name_and_address_in_full_and_the_phone_masked(client, order):
    CarrierServiceFactory(name="Standard", supports_cod=True)
    pick_all(order)
    shipment = order.shipments.get()
    signed_in(client, "Warehouse operator")

    slip = client.get(reverse("admin:logistics_shipment_packing_slip", args=[shipment.pk])).content.decode()

    assert NAME in slip and STREET in slip and POSTCODE in slip
    assert PHONE_MASKED in slip and PHONE_FULL not in slip


def test_ticket_pages_mask_the_customer_for_a_role_that_sees_names_masked(client, order):
    ticket = aftersales.tickets.open_ticket(
        actor=staff("Customer service"),
        subject="Late",
        category="late_delivery",
        severity="normal",
        order_id=order.pk,
    )
    analyst = staff("Analyst")
    # The analyst reads complaints for the figures; what they see of the customer follows their role.
    analyst.user_permissions.add(_permission(Aftersales.VIEW_TICKET))
    client.force_login(analyst)

    content = client.get(reverse("admin:aftersales_ticket_change", args=[ticket.pk])).content.decode()

    assert NAME_MASKED in content and NAME not in content


def _permission(name):
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def export_rows(client):
    response = client.post(reverse("admin:orders_order_export"), {"file_format": "csv", "kind": ORDERS.kind.code})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    return dict(zip(rows[0], rows[1], strict=True))


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_order_exports_hold_name_phone_and_address_as_the_role_may_see_them(client, order, role):
    name, phone, street = MATRIX[role]
    signed_in(client, role)

    row = export_rows(client)

    assert row["Recipient"] == (NAME if name else NAME_MASKED)
    assert row["Phone"] == "'" + (PHONE_FULL if phone else PHONE_MASKED)
    assert row["Street address"] == (STREET if street else STREET_MASKED)
    assert row["Postcode"] == (POSTCODE if street else POSTCODE_MASKED)
    assert row["Special instructions"] == ("Gate code 4711" if street else "")
    # What the figures need stays for every role.
    assert (row["Province"], row["City"], row["Total"]) == ("浙江省", "杭州市", "25.00")


def test_a_channel_reads_its_own_orders_with_the_details_it_supplied(order):
    response = channel_client(order.channel).get(f"/api/v1/orders/{order.number}/")

    body = response.json()
    assert response.status_code == 200
    assert (body["recipient"], body["address"]) == (NAME, STREET)
    assert body["phone"].endswith("13800138000")


def test_the_sms_log_masks_the_number_and_what_the_text_quotes_of_the_customer(caplog):
    message = SMSMessage(
        to="+8613800138000", body=f"{NAME}, your parcel to {STREET} is on its way.", personal=(NAME, STREET)
    )

    with caplog.at_level(logging.INFO, logger="orders.sms"):
        LogSMSBackend().send_messages([message])

    assert PHONE_MASKED in caplog.text
    assert NAME not in caplog.text and STREET not in caplog.text
    assert "your parcel to" in caplog.text
