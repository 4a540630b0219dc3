"""Personal data over its whole life (docs/architecture.md, "Personal data"): the access log of who
opened unmasked details and who exported what, the managers' page that searches it, anonymisation
after the retention period keeping the figures, and a customer's requests to see and to erase
their data."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aftersales import services as aftersales
from aftersales.models import Feedback, ReturnRequest, Ticket, TicketMessage
from aftersales.services.feedback import feedback_token, give_feedback
from core.actors import SYSTEM
from core.models import Job, PersonalDataAccess
from logistics.exports import SHIPMENTS
from logistics.models import TrackingEvent
from orders import services as orders
from orders.events import PERSONAL_DATA_ERASED
from orders.exports import ORDERS
from orders.models import Customer, IdempotencyRecord, Notification, Order, OrderNote
from orders.services import privacy
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_returns import ask

pytestmark = pytest.mark.django_db

Action = PersonalDataAccess.Action
_phones = iter(range(1000, 9999))


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("40.00"))
    stock(item, WarehouseFactory(), 500)
    return item


def new_order(product, **overrides):
    n = next(_phones)
    values = {"recipient": "王小明", "phone": f"1370000{n:04d}", "address": f"莫干山路 {n} 号"}
    values.update(overrides)
    return place(lines=[(product, 1)], **values)


def finished_long_ago(product, *, days=2000, **overrides):
    """A completed order whose completion lies `days` back."""
    order = advance(new_order(product, **overrides), "completed")
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=days))
    order.refresh_from_db()
    return order


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def log(**filters):
    return list(PersonalDataAccess.objects.filter(**filters).order_by("pk"))


# --- the access log ------------------------------------------------------------------------------


def test_opening_an_order_page_with_unmasked_details_is_logged_with_what_was_whole(client, product):
    order = new_order(product)
    warehouse = signed_in(client, "Warehouse operator")

    client.get(reverse("admin:orders_order_change", args=[order.pk]))

    [line] = log(action=Action.VIEWED)
    assert (line.actor, line.customer_id, line.order_number, line.fields) == (
        warehouse,
        order.customer_id,
        order.number,
        "name,address",
    )


def test_opening_an_order_page_that_shows_everything_masked_is_not_logged(client, product):
    order = new_order(product)
    signed_in(client, "Analyst")

    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    assert log(action=Action.VIEWED) == []


def test_opening_a_customer_page_and_printing_a_label_are_logged(client, product):
    order = advance(new_order(product), "packed")
    shipment = order.shipments.get()
    service = signed_in(client, "Customer service")

    client.get(reverse("admin:orders_customer_change", args=[order.customer_id]))
    client.force_login(staff("Warehouse operator"))
    client.get(reverse("admin:logistics_shipment_label", args=[shipment.pk]))

    customer_page, label = log(action=Action.VIEWED)
    assert (customer_page.actor, customer_page.customer_id, customer_page.subject) == (
        service,
        order.customer_id,
        "Customer page",
    )
    assert (label.order_number, label.subject) == (order.number, f"Shipping label {order.number}")


def test_opening_a_return_or_a_ticket_is_logged_with_what_of_the_customer_it_shows(client, product):
    order = advance(new_order(product), "delivered")
    case = ask(order, (product, 1))
    ticket = aftersales.tickets.open_ticket(
        actor=SYSTEM, subject="Chipped", category="damage", severity="normal", order_id=order.pk
    )
    signed_in(client, "Customer service")

    client.get(reverse("admin:aftersales_returnrequest_change", args=[case.pk]))
    client.get(reverse("admin:aftersales_ticket_change", args=[ticket.pk]))

    return_page, ticket_page = log(action=Action.VIEWED)
    assert (return_page.subject, return_page.customer_id, return_page.fields) == (
        f"Return {case.number}",
        order.customer_id,
        "name",
    )
    assert (ticket_page.subject, ticket_page.order_number, ticket_page.fields) == (
        f"Ticket {ticket.number}",
        order.number,
        "name,phone",
    )


def export(client, url, kind, file_format="csv"):
    response = client.post(url, {"file_format": file_format, "kind": kind})
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


def test_every_export_is_logged_with_its_list_and_row_count(client, product):
    for _n in range(3):
        new_order(product)
    finance = signed_in(client, "Finance")

    export(client, reverse("admin:orders_order_export"), ORDERS.kind.code)
    export(client, reverse("admin:logistics_shipment_export"), SHIPMENTS.kind.code, file_format="xlsx")

    orders_line, shipments_line = log(action=Action.EXPORTED)
    assert (orders_line.actor, orders_line.rows, orders_line.fields) == (finance, 3, "name,phone")
    assert orders_line.subject.startswith("One row per order · orders-")
    # The shipment list holds no one's name, phone or address.
    assert (shipments_line.rows, shipments_line.fields) == (0, "")


def test_a_background_export_is_logged_when_its_file_is_written(
    client, product, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_BACKGROUND_ABOVE_ROWS = 1
    for _n in range(2):
        new_order(product)
    analyst = signed_in(client, "Analyst")

    with django_capture_on_commit_callbacks(execute=True):
        export(client, reverse("admin:orders_order_export"), ORDERS.kind.code)

    job = Job.objects.get()
    [line] = log(action=Action.EXPORTED)
    assert (line.actor, line.rows, line.fields) == (analyst, 2, "")
    assert job.file_name in line.subject


def test_managers_search_the_access_log_by_person_and_customer(client, product):
    first, second = new_order(product), new_order(product)
    rita, sam = staff("Order reviewer", username="rita"), staff("Customer service", username="sam")
    for user, order in ((rita, first), (sam, second)):
        client.force_login(user)
        client.get(reverse("admin:orders_order_change", args=[order.pk]))
    signed_in(client, "Manager")
    url = reverse("admin:core_personaldataaccess_changelist")

    by_customer = client.get(url, {"customer_id": second.customer_id}).content.decode()
    by_person = client.get(url, {"actor__id__exact": rita.pk}).content.decode()
    by_order = client.get(url, {"q": first.number}).content.decode()

    assert second.number in by_customer and first.number not in by_customer
    assert first.number in by_person and second.number not in by_person
    assert first.number in by_order and second.number not in by_order


def test_only_managers_may_read_the_access_log(client):
    signed_in(client, "Customer service")

    response = client.get(reverse("admin:core_personaldataaccess_changelist"))

    assert response.status_code == 403


# --- retention -----------------------------------------------------------------------------------


def test_customers_finished_longer_ago_than_the_retention_are_anonymised_keeping_the_figures(product):
    old = finished_long_ago(product, special_instructions="Ring twice", postcode="310012")
    recent = finished_long_ago(product, days=30)
    OrderNote.objects.create(order=old, author=staff("Manager"), text="Called 王小明 about the gate")
    call_command("rebuild_rollups")

    call_command("anonymise_personal_data")

    old.refresh_from_db()
    customer = Customer.objects.get(pk=old.customer_id)
    assert (customer.name, customer.email, customer.phone) == ("", "", f"~{customer.pk}")
    assert customer.anonymised_at is not None
    assert (old.recipient, old.phone, old.city, old.district, old.address, old.postcode) == ("", "", "", "", "", "")
    assert old.special_instructions == ""
    assert (old.province, old.total, old.status, old.channel_id) == (
        "浙江省",
        Decimal("40.00"),
        "completed",
        old.channel_id,
    )
    assert OrderNote.objects.get(order=old).text == ""
    assert set(Notification.objects.filter(order=old).values_list("recipient", "body")) <= {("", "")}
    assert Order.objects.get(pk=recent.pk).recipient == "王小明"
    assert Customer.objects.get(pk=recent.customer_id).anonymised_at is None
    # The dashboard's records agree with its rollups as before: nothing it counts was touched.
    call_command("rebuild_rollups", "--check")
    [line] = log(action=Action.ANONYMISED)
    assert (line.actor, line.customer_id) == (None, customer.pk)


def test_a_dry_run_says_how_many_are_due_and_changes_nothing(product):
    order = finished_long_ago(product)
    out = io.StringIO()

    call_command("anonymise_personal_data", "--dry-run", stdout=out)

    assert out.getvalue().startswith("1 customers' last order finished before ")
    assert Customer.objects.get(pk=order.customer_id).anonymised_at is None


def test_the_retention_period_is_a_setting(product, settings):
    order = finished_long_ago(product, days=100)
    settings.PERSONAL_DATA_RETENTION_DAYS = 120
    call_command("anonymise_personal_data")
    assert Customer.objects.get(pk=order.customer_id).anonymised_at is None

    settings.PERSONAL_DATA_RETENTION_DAYS = 90
    call_command("anonymise_personal_data")
    assert Customer.objects.get(pk=order.customer_id).anonymised_at is not None


def test_anonymising_runs_in_batches_and_running_it_again_changes_nothing(product):
    customers = [finished_long_ago(product).customer_id for _n in range(5)]

    first = privacy.anonymise_expired(actor=SYSTEM, batch_size=2)
    stamps = dict(Customer.objects.filter(pk__in=customers).values_list("pk", "anonymised_at"))
    again = privacy.anonymise_expired(actor=SYSTEM, batch_size=2)

    assert (first, again) == (5, 0)
    assert dict(Customer.objects.filter(pk__in=customers).values_list("pk", "anonymised_at")) == stamps
    assert len(log(action=Action.ANONYMISED)) == 5


def test_a_run_stopped_half_way_kept_its_finished_batches_and_the_next_run_does_the_rest(product):
    customers = [finished_long_ago(product).customer_id for _n in range(4)]
    calls = []

    def dies_in_the_second_batch(**payload):
        calls.append(payload)
        if len(calls) == 2:
            raise RuntimeError("worker killed")

    PERSONAL_DATA_ERASED.subscribe(dies_in_the_second_batch)
    try:
        with pytest.raises(RuntimeError):
            privacy.anonymise_expired(actor=SYSTEM, batch_size=2)
    finally:
        PERSONAL_DATA_ERASED.subscribers.remove(dies_in_the_second_batch)

    done = set(Customer.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True))
    assert done == set(customers[:2])
    # The half-done batch left nothing half-erased.
    assert set(Order.objects.filter(customer_id__in=customers[2:]).values_list("recipient", flat=True)) == {"王小明"}
    assert privacy.anonymise_expired(actor=SYSTEM, batch_size=2) == 2
    assert Customer.objects.filter(pk__in=customers, anonymised_at__isnull=True).count() == 0


def test_a_customer_with_an_open_order_or_return_is_not_anonymised(product):
    with_open_order = finished_long_ago(product, phone="13700009001")
    new_order(product, phone="13700009001")
    with_open_return = finished_long_ago(product)
    ask(with_open_return, (product, 1))

    assert privacy.anonymise_expired(actor=SYSTEM) == 0
    assert Customer.objects.filter(anonymised_at__isnull=False).count() == 0
    assert with_open_order.customer_id != with_open_return.customer_id


def test_anonymising_erases_after_sales_and_carrier_copies_through_the_announcement(product):
    order = finished_long_ago(product, days=10)
    case = ask(order, (product, 1), customer_note="Call me on 13700001111")
    ticket = aftersales.tickets.open_ticket(
        actor=SYSTEM, subject="Chipped", category="damage", severity="normal", description="王 says", order_id=order.pk
    )
    aftersales.tickets.add_note(ticket.pk, text="Spoke to 王小明", actor=staff("Customer service"))
    give_feedback(feedback_token(order), rating=5, comment="王小明 is happy")
    shipment = order.shipments.get()
    signed = TrackingEvent.objects.create(
        shipment=shipment,
        occurred_at=timezone.now(),
        status="delivered",
        location="杭州",
        description="Signed for by 王小明",
        source="console",
    )
    aftersales.reject_return(case.pk, reason="Outside policy", actor=SYSTEM)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=2000))

    assert privacy.anonymise_expired(actor=SYSTEM) == 1

    assert ReturnRequest.objects.get(pk=case.pk).customer_note == ""
    assert Ticket.objects.get(pk=ticket.pk).description == ""
    assert set(TicketMessage.objects.filter(ticket=ticket).values_list("text", flat=True)) == {""}
    assert Feedback.objects.get(order=order).comment == ""
    assert Feedback.objects.get(order=order).rating == 5
    signed.refresh_from_db()
    assert (signed.description, signed.location) == ("", "杭州")


def test_old_idempotency_answers_are_deleted_with_the_retention(product):
    channel = ChannelFactory()
    old = IdempotencyRecord.objects.create(
        channel=channel, key="old", request_fingerprint="x", created_at=timezone.now() - timedelta(days=2000)
    )
    fresh = IdempotencyRecord.objects.create(channel=channel, key="fresh", request_fingerprint="y")

    privacy.anonymise_expired(actor=SYSTEM)

    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()


# --- a customer's requests -----------------------------------------------------------------------


def test_customer_service_hands_a_customer_a_workbook_of_everything_held_about_them(client, product):
    order = advance(new_order(product, special_instructions="Ring twice"), "delivered")
    ask(order, (product, 1), customer_note="The lid is cracked")
    service = signed_in(client, "Customer service")

    response = client.post(reverse("admin:orders_customer_data", args=[order.customer_id]))

    assert response.status_code == 200
    assert f"customer-{order.customer_id}-data-" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheets = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook}
    assert {"Customers", "Orders", "Order lines", "Shipments", "Returns", "Notification log"} <= set(sheets)
    assert sheets["Customers"][1][0] == "王小明"
    assert order.number in sheets["Orders"][1] and "Ring twice" in sheets["Orders"][1]
    assert "The lid is cracked" in sheets["Returns"][1]
    [line] = log(action=Action.SUBJECT_ACCESS)
    assert (line.actor, line.customer_id) == (service, order.customer_id)
    assert line.rows >= 5


def test_a_role_without_the_permission_may_not_hand_out_a_customers_data(client, product):
    order = new_order(product)
    signed_in(client, "Warehouse operator")

    response = client.post(reverse("admin:orders_customer_data", args=[order.customer_id]))

    assert response.status_code == 403
    assert log(action=Action.SUBJECT_ACCESS) == []


def test_erasing_is_refused_with_every_reason_while_something_is_open(client, product):
    delivered = advance(new_order(product, phone="13700009002"), "delivered")
    case = ask(delivered, (product, 1))
    open_order = new_order(product, phone="13700009002")
    manager = signed_in(client, "Manager")

    page = client.get(reverse("admin:orders_customer_erase", args=[open_order.customer_id])).content.decode()
    response = client.post(reverse("admin:orders_customer_erase", args=[open_order.customer_id]), follow=True)

    content = response.content.decode()
    for reason in (
        f"Order {open_order.number} is Confirmed.",
        f"Order {delivered.number} is Delivered.",
        f"Return {case.number} is Requested.",
    ):
        assert reason in page and reason in content
    assert Customer.objects.get(pk=open_order.customer_id).name == "王小明"
    [line] = log(action=Action.ERASURE_REFUSED)
    assert (line.actor, line.customer_id) == (manager, open_order.customer_id)
    assert open_order.number in line.subject


def test_an_open_refund_or_complaint_also_refuses_erasure(product):
    # Cash on delivery: the money was taken at the door.
    order = advance(new_order(product), "completed")
    orders.request_refund(order.pk, amount=Decimal("5.00"), reason="Scratch", actor=SYSTEM)
    ticket = aftersales.tickets.open_ticket(
        actor=SYSTEM, subject="Scratch", category="damage", severity="normal", order_id=order.pk
    )

    with pytest.raises(Exception) as refused:
        privacy.erase_customer(order.customer_id, actor=staff("Manager"))

    text = " ".join(refused.value.messages)
    assert "A refund of 5.00" in text and f"Complaint ticket {ticket.number} is Open." in text


def test_a_manager_erases_a_finished_customer_at_once_and_it_is_recorded(client, product):
    order = finished_long_ago(product, days=5)
    manager = signed_in(client, "Manager")

    response = client.post(reverse("admin:orders_customer_erase", args=[order.customer_id]), follow=True)

    assert "personal data is erased" in response.content.decode()
    customer = Customer.objects.get(pk=order.customer_id)
    assert (customer.name, customer.anonymised_at is not None) == ("", True)
    assert Order.objects.get(pk=order.pk).address == ""
    [line] = log(action=Action.ERASED)
    assert (line.actor, line.customer_id) == (manager, customer.pk)


def test_customer_service_may_not_erase_a_customer(client, product):
    order = finished_long_ago(product, days=5)
    signed_in(client, "Customer service")

    response = client.post(reverse("admin:orders_customer_erase", args=[order.customer_id]))

    assert response.status_code == 403
    assert Customer.objects.get(pk=order.customer_id).anonymised_at is None
