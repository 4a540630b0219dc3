"""Personal data in the archive (docs/architecture.md, "Personal data" and "Archive"): retention and
erasure reach archived orders' columns, kept rows and kept API answers; the customer's workbook lists
their archived orders; the Archived orders view and its export follow the role's sight, and opening
an archived order with unmasked details is logged."""

import csv
import io
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aftersales import services as aftersales
from aftersales.models import Ticket
from aftersales.services.feedback import feedback_token, give_feedback
from core.actors import SYSTEM
from core.models import PersonalDataAccess
from logistics.models import TrackingEvent
from orders import services as orders
from orders.models import ArchivedOrder, Customer, Order
from orders.services import privacy
from tests.factories import advance, staff
from tests.test_personal_data_lifecycle import log, new_order, product, signed_in  # noqa: F401
from tests.test_returns import ask

pytestmark = pytest.mark.django_db

Action = PersonalDataAccess.Action
NAME, STREET, CARRIER_WORDS = "王小明", "莫干山路 88 号", "Signed for by 王小明 at the gate"


def order_with_personal_rows(product, **overrides):  # noqa: F811
    """A completed order whose rows of every app quote the customer: a staff note, a message, a
    return, a complaint with a reply, feedback and a carrier's tracking event."""
    order = advance(new_order(product, address=STREET, special_instructions="Gate 4321", **overrides), "delivered")
    orders.add_note(order.pk, author=staff("Customer service"), text=f"{NAME} called")
    case = ask(order, (product, 1), customer_note="Call me on 13700001111")
    aftersales.reject_return(case.pk, reason="Outside policy", actor=SYSTEM)
    ticket = aftersales.tickets.open_ticket(
        actor=SYSTEM,
        subject="Chipped",
        category="damage",
        severity="normal",
        description=f"{NAME} says",
        order_id=order.pk,
    )
    aftersales.tickets.add_note(ticket.pk, text=f"Spoke to {NAME}", actor=staff("Customer service"))
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    TrackingEvent.objects.create(
        shipment=order.shipments.get(),
        occurred_at=timezone.now(),
        status="in_transit",
        location="杭州",
        description=CARRIER_WORDS,
        source="console",
    )
    orders.complete(order.pk, actor=SYSTEM)
    give_feedback(feedback_token(order), rating=5, comment=f"{NAME} is happy")
    return order


def archive(*order_list, days=2000):
    for order in order_list:
        Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=days))
    orders.archive_finished_orders(actor=SYSTEM)
    return [ArchivedOrder.objects.get(pk=order.pk) for order in order_list]


def kept_text(archived):
    archived.refresh_from_db()
    return json.dumps(
        [archived.recipient, archived.phone, archived.city, archived.rows, archived.api_answer], ensure_ascii=False
    )


def assert_erased(archived, phone):
    text = kept_text(archived)
    for personal in (NAME, phone, STREET, "Gate 4321", CARRIER_WORDS, "13700001111", "says", "is happy", "called"):
        assert personal not in text, f"{personal!r} is still in the archive"
    assert (archived.recipient, archived.phone, archived.city) == ("", "", "")
    order_row = archived.rows_of("orders.order")[0]
    assert (order_row["address"], order_row["special_instructions"], order_row["recipient"]) == ("", "", "")
    assert archived.api_answer["address"] == "" and archived.api_answer["phone"] == ""


def test_a_customer_whose_orders_are_all_archived_is_anonymised_with_the_archived_rows_and_answer(product):  # noqa: F811
    order = order_with_personal_rows(product)
    [archived] = archive(order)
    assert NAME in kept_text(archived) and CARRIER_WORDS in kept_text(archived)
    total, province, status = archived.total, archived.province, archived.status
    lines = archived.rows_of("orders.orderline")

    assert [customer.pk for customer in privacy.customers_due(privacy.retention_cutoff())] == [order.customer_id]
    assert privacy.anonymise_expired(actor=SYSTEM) == 1

    assert_erased(archived, order.phone)
    assert (archived.total, archived.province, archived.status) == (total, province, status)
    assert archived.rows_of("orders.orderline") == lines
    assert archived.rows_of("aftersales.feedback")[0]["rating"] == 5
    assert archived.rows_of("logistics.trackingevent")[-1]["location"] == "杭州"
    assert archived.api_answer["province"] == province and archived.api_answer["total"]
    assert Customer.objects.get(pk=order.customer_id).anonymised_at is not None
    [line] = log(action=Action.ANONYMISED)
    assert line.customer_id == order.customer_id
    # Running it again finds nothing due and changes nothing.
    before = kept_text(archived)
    assert privacy.anonymise_expired(actor=SYSTEM) == 0
    assert kept_text(archived) == before


def test_the_last_finished_order_counts_across_live_and_archived(product):  # noqa: F811
    old = order_with_personal_rows(product, phone="13700005555")
    [archived] = archive(old)
    recent = advance(new_order(product, phone="13700005555"), "completed")
    assert recent.customer_id == old.customer_id

    assert privacy.anonymise_expired(actor=SYSTEM) == 0
    assert NAME in kept_text(archived)

    Order.objects.filter(pk=recent.pk).update(completed_at=timezone.now() - timedelta(days=1500))
    assert privacy.anonymise_expired(actor=SYSTEM) == 1
    assert_erased(archived, "13700005555")
    assert Order.objects.get(pk=recent.pk).address == ""


def test_a_recently_archived_order_keeps_its_customer_within_the_retention(product, settings):  # noqa: F811
    settings.ARCHIVE_AFTER_DAYS = 30
    order = advance(new_order(product), "completed")
    [archived] = archive(order, days=100)

    assert privacy.anonymise_expired(actor=SYSTEM) == 0
    assert archived.recipient == NAME


def test_erasing_a_customer_with_archived_orders_erases_them_too_and_is_logged(client, product):  # noqa: F811
    order = order_with_personal_rows(product)
    [archived] = archive(order)
    live = advance(new_order(product, phone=order.phone), "completed")
    manager = signed_in(client, "Manager")

    page = client.get(reverse("admin:orders_customer_erase", args=[order.customer_id])).content.decode()
    assert "still has open business" not in page
    client.post(reverse("admin:orders_customer_erase", args=[order.customer_id]), follow=True)

    assert_erased(archived, order.phone)
    assert Order.objects.get(pk=live.pk).recipient == ""
    [line] = log(action=Action.ERASED)
    assert (line.actor, line.customer_id) == (manager, order.customer_id)


@pytest.mark.django_db(transaction=True)
def test_rebuild_rollups_still_agrees_after_anonymising_archived_orders(product):  # noqa: F811
    archive(order_with_personal_rows(product))
    privacy.anonymise_expired(actor=SYSTEM)

    out = StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "agreed" in out.getvalue()


def test_the_customers_workbook_lists_their_archived_orders_with_their_kept_rows(client, product):  # noqa: F811
    order = order_with_personal_rows(product)
    [archived] = archive(order)
    signed_in(client, "Customer service")

    response = client.post(reverse("admin:orders_customer_data", args=[order.customer_id]))

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheets = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook}
    assert [row[0] for row in sheets["Archived orders"][1:]] == [archived.number]
    assert NAME in sheets["Archived orders"][1]
    kept = sheets["Archived rows"]
    assert any(row[0] == archived.number and CARRIER_WORDS in str(row[2]) for row in kept[1:])
    assert any(row[0] == archived.number and "Call me on 13700001111" in str(row[2]) for row in kept[1:])


# --- the console -----------------------------------------------------------------------------


@pytest.fixture
def archived(product):  # noqa: F811
    return archive(order_with_personal_rows(product, recipient=NAME, phone="13912345678"))[0]


def test_an_analyst_sees_the_archived_list_page_and_export_masked_and_is_not_logged(client, archived):
    signed_in(client, "Analyst")

    listing = client.get(reverse("admin:orders_archivedorder_changelist")).content.decode()
    page = client.get(reverse("admin:orders_archivedorder_change", args=[archived.pk])).content.decode()
    response = client.post(
        reverse("admin:orders_archivedorder_export"), {"kind": "export_archived_orders", "file_format": "csv"}
    )
    exported = (b"".join(response.streaming_content) if response.streaming else response.content).decode("utf-8-sig")

    assert archived.number in listing and archived.number in page
    for shown in (listing, page, exported):
        for personal in (NAME, "13912345678", "139 1234 5678", STREET, "Gate 4321"):
            assert personal not in shown, f"{personal!r} shown to an analyst"
    assert "王**" in listing and "王**" in page and "王**" in exported
    assert log(action=Action.VIEWED) == []


def test_finance_sees_an_archived_orders_name_and_phone_but_not_its_street(client, archived):
    signed_in(client, "Finance")

    page = client.get(reverse("admin:orders_archivedorder_change", args=[archived.pk])).content.decode()

    assert NAME in page and "139 1234 5678" in page
    assert STREET not in page and "Gate 4321" not in page


def test_opening_an_archived_order_with_unmasked_details_is_logged(client, archived):
    service = signed_in(client, "Customer service")

    page = client.get(reverse("admin:orders_archivedorder_change", args=[archived.pk])).content.decode()

    assert NAME in page and STREET in page
    [line] = log(action=Action.VIEWED)
    assert (line.actor, line.customer_id, line.order_number) == (service, archived.customer_id, archived.number)
    assert line.fields == "name,phone,address"


def test_the_archived_export_is_logged_with_what_it_showed_whole(client, archived):
    signed_in(client, "Customer service")

    response = client.post(
        reverse("admin:orders_archivedorder_export"), {"kind": "export_archived_orders", "file_format": "csv"}
    )
    rows = list(csv.reader(io.StringIO((b"".join(response.streaming_content)).decode("utf-8-sig"))))

    assert NAME in rows[1]
    [line] = log(action=Action.EXPORTED)
    assert "name" in line.fields and "phone" in line.fields


def test_a_role_that_sees_names_masked_cannot_find_an_archived_order_by_name(client, archived):
    signed_in(client, "Analyst")
    assert (
        archived.number
        not in client.get(reverse("admin:orders_archivedorder_changelist"), {"q": NAME}).content.decode()
    )

    signed_in(client, "Customer service")
    assert archived.number in client.get(reverse("admin:orders_archivedorder_changelist"), {"q": NAME}).content.decode()
