"""Complaint tickets and feedback in the console: opening a complaint from an order's page, the
ticket page where staff reply, note, assign and resolve, the ticket list with its overdue queue,
the feedback list, and what each role may see."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from aftersales.models import Feedback, Ticket, TicketMessage
from aftersales.services import feedback, tickets
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = pytest.mark.django_db

EMAIL = "kunde@example.com"
LIST = "/admin/aftersales/ticket/"


@pytest.fixture
def product():
    item = ProductFactory()
    stock(item, WarehouseFactory(), 50)
    return item


@pytest.fixture
def order(product):
    return advance(place(lines=[(product, 1)], email=EMAIL, language="en"), "delivered")


@pytest.fixture
def agent(client):
    user = staff("Customer service")
    client.force_login(user)
    return user


def ticket_page(ticket):
    return reverse("admin:aftersales_ticket_change", args=[ticket.pk])


def step_url(ticket, step):
    return reverse("admin:aftersales_ticket_step", args=[ticket.pk, step])


def opened(order, actor, **overrides):
    values = {"subject": "Cracked lid", "category": "damage", "severity": "normal", "order_id": order.pk}
    values.update(overrides)
    return tickets.open_ticket(actor=actor, **values)


def listed_numbers(response):
    return [ticket.number for ticket in response.context["cl"].result_list]


def test_a_complaint_is_opened_from_the_orders_page_with_the_order_filled_in(client, order, agent):
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    new_ticket_url = f"{reverse('admin:aftersales_ticket_add')}?order={order.pk}"
    assert "Complaints and feedback" in order_page
    assert f'href="{new_ticket_url}"' in order_page

    form = client.get(new_ticket_url)
    assert form.status_code == 200
    assert order.number in form.content.decode()
    assert 'name="order"' not in form.content.decode()

    response = client.post(
        new_ticket_url,
        {
            "subject": "Lid arrived cracked",
            "category": "damage",
            "severity": "urgent",
            "description": "Customer sent a photo.",
            "shipment": str(order.shipments.get().pk),
            "return_request": "",
            "assigned_to": str(agent.pk),
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == ticket_page(ticket)
    assert (ticket.order, ticket.shipment, ticket.severity, ticket.assigned_to, ticket.opened_by) == (
        order,
        order.shipments.get(),
        "urgent",
        agent,
        agent,
    )
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert ticket.number in order_page
    assert "Lid arrived cracked" in order_page


def test_a_complaint_opened_on_its_own_finds_the_order_by_its_number(client, order, agent):
    add = reverse("admin:aftersales_ticket_add")

    unknown = client.post(
        add, {"order": "OC000000-999999", "subject": "Late", "category": "late_delivery", "severity": "normal"}
    )
    assert unknown.status_code == 200
    assert "There is no order OC000000-999999." in unknown.content.decode()
    assert not Ticket.objects.exists()

    client.post(
        add, {"order": order.number.lower(), "subject": "Late", "category": "late_delivery", "severity": "normal"}
    )
    assert Ticket.objects.get().order == order


def test_a_new_ticket_without_a_subject_is_asked_again(client, order, agent):
    response = client.post(
        f"{reverse('admin:aftersales_ticket_add')}?order={order.pk}",
        {"subject": "", "category": "damage", "severity": "normal"},
    )

    assert response.status_code == 200
    assert "Say in a few words what the complaint is about." in response.content.decode()
    assert not Ticket.objects.exists()


def test_replying_and_resolving_in_the_console(client, order, agent, django_capture_on_commit_callbacks):
    ticket = opened(order, agent)
    page = client.get(ticket_page(ticket)).content.decode()
    assert f"Sent by email to {EMAIL}." in page
    assert "Start work" in page

    with django_capture_on_commit_callbacks(execute=True):
        replied = client.post(
            reverse("admin:aftersales_ticket_reply", args=[ticket.pk]), {"reply-text": "A new lid is on its way."}
        )
    assert replied.status_code == 302
    [email] = mail.outbox
    assert (email.to, email.body.startswith("A new lid is on its way.")) == ([EMAIL], True)

    client.post(reverse("admin:aftersales_ticket_note", args=[ticket.pk]), {"note-text": "Supplier informed."})
    page = client.get(ticket_page(ticket)).content.decode()
    assert f"Reply to the customer ({EMAIL})" in page
    assert "Internal note" in page and "Supplier informed." in page

    missing = client.post(
        step_url(ticket, "resolve"), {"seen_status": "open", "root_cause": "Thin box", "corrective_action": ""}
    )
    assert missing.status_code == 200
    assert "Say what is done so it does not happen again." in missing.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN

    done = client.post(
        step_url(ticket, "resolve"),
        {"seen_status": "open", "root_cause": "Thin box", "corrective_action": "Double boxes for lids"},
    )
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.root_cause, ticket.corrective_action) == (
        Ticket.Status.RESOLVED,
        "Thin box",
        "Double boxes for lids",
    )
    assert ticket.first_response_at is not None
    client.post(step_url(ticket, "close"), {"seen_status": "resolved"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    page = client.get(ticket_page(ticket)).content.decode()
    assert "Double boxes for lids" in page
    assert "Nothing for you to do on this ticket now." in page


def test_the_page_tells_to_call_a_customer_without_an_email_address(client, product, agent):
    order = place(lines=[(product, 1)], phone="13900139000")
    ticket = opened(order, agent)

    response = client.post(reverse("admin:aftersales_ticket_reply", args=[ticket.pk]), {"reply-text": "Hello"})

    assert response.status_code == 200
    assert "Call them on the order&#x27;s phone number" in response.content.decode()
    assert not TicketMessage.objects.exists()


def test_a_phone_call_noted_as_the_answer_takes_the_ticket_out_of_the_overdue_queue(client, product, agent):
    order = place(lines=[(product, 1)], phone="13900139000")
    ticket = opened(order, agent)
    Ticket.objects.filter(pk=ticket.pk).update(respond_by=timezone.now() - timedelta(minutes=5))
    assert 'name="note-answered_customer"' in client.get(ticket_page(ticket)).content.decode()

    client.post(reverse("admin:aftersales_ticket_note", args=[ticket.pk]), {"note-text": "Lid sent again."})
    assert listed_numbers(client.get(LIST, {"overdue": "yes"})) == [ticket.number]
    client.post(
        reverse("admin:aftersales_ticket_note", args=[ticket.pk]),
        {"note-text": "Called: she is happy with a new lid.", "note-answered_customer": "on"},
    )

    assert listed_numbers(client.get(LIST, {"overdue": "yes"})) == []
    ticket.refresh_from_db()
    assert ticket.first_response_at == ticket.messages.last().created_at


def test_a_step_someone_else_took_first_is_refused_with_a_message(client, order, agent):
    ticket = opened(order, agent)
    tickets.start(ticket.pk, actor=agent)

    response = client.post(step_url(ticket, "start"), {"seen_status": "open"}, follow=True)

    assert "changed while you were looking at it" in response.content.decode()


def test_assigning_and_changing_the_severity_in_the_console(client, order, agent):
    ticket = opened(order, agent)
    colleague = staff("Customer service", first_name="Li", last_name="Na")

    client.post(reverse("admin:aftersales_ticket_assign", args=[ticket.pk]), {"assigned_to": str(colleague.pk)})
    client.post(reverse("admin:aftersales_ticket_severity", args=[ticket.pk]), {"severity": "urgent"})

    ticket.refresh_from_db()
    assert ticket.assigned_to == colleague
    assert ticket.respond_by == ticket.created_at + timedelta(hours=4)
    page = client.get(ticket_page(ticket)).content.decode()
    assert "Severity changed" in page and "Assigned to Li Na." in page


def test_the_ticket_list_filters_the_overdue_queue_and_my_tickets_and_finds_by_number(client, order, agent):
    late = opened(order, agent, subject="Late parcel", severity="urgent")
    Ticket.objects.filter(pk=late.pk).update(respond_by=timezone.now() - timedelta(minutes=5))
    mine = opened(order, agent, subject="Wrong colour", category="wrong_item", assigned_to_id=agent.pk)
    other = opened(order, agent, subject="Rude courier", category="service")

    everything = client.get(LIST)
    assert everything.status_code == 200
    assert set(listed_numbers(everything)) == {late.number, mine.number, other.number}
    assert "Overdue tickets" in everything.content.decode()
    assert 'class="oc-overdue"' in everything.content.decode()
    assert listed_numbers(client.get(LIST, {"overdue": "yes"})) == [late.number]
    assert listed_numbers(client.get(LIST, {"assigned": "me"})) == [mine.number]
    assert listed_numbers(client.get(LIST, {"category": "service"})) == [other.number]
    assert listed_numbers(client.get(LIST, {"q": other.number.lower()})) == [other.number]
    assert listed_numbers(client.get(LIST, {"q": "colour"})) == [mine.number]
    assert len(listed_numbers(client.get(LIST, {"q": order.number}))) == 3


def test_the_feedback_list_shows_ratings_with_their_tickets_and_filters_by_rating(client, product, agent):
    low = advance(place(lines=[(product, 1)], phone="13900139001"), "delivered")
    high = advance(place(lines=[(product, 1)], phone="13900139002"), "delivered")
    feedback.give_feedback(feedback.feedback_token(low), rating=1, comment="Broken on arrival")
    feedback.give_feedback(feedback.feedback_token(high), rating=5, comment="Perfect")

    response = client.get("/admin/aftersales/feedback/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Broken on arrival" in content and "Perfect" in content
    assert Ticket.objects.get().number in content
    assert "50% satisfied (4 or 5 stars) of 2 ratings, average 3.00" in content
    only_low = client.get("/admin/aftersales/feedback/", {"rating": "1"})
    assert [f.rating for f in only_low.context["cl"].result_list] == [1]
    assert Feedback.objects.count() == 2


def test_a_warehouse_operator_sees_no_tickets_and_cannot_act_on_them(client, order):
    ticket = opened(order, staff("Customer service"))
    client.force_login(staff("Warehouse operator"))

    assert client.get(LIST).status_code == 403
    assert client.get(ticket_page(ticket)).status_code == 403
    assert client.post(step_url(ticket, "start"), {"seen_status": "open"}).status_code == 403
    assert client.get(reverse("admin:aftersales_ticket_add")).status_code == 403
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Complaints and feedback" not in order_page
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_staff_who_may_see_tickets_but_not_work_on_them_get_no_forms_or_steps(client, order):
    ticket = opened(order, staff("Customer service"))
    viewer = staff("Finance")
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="aftersales", codename="view_ticket"))
    client.force_login(viewer)

    page = client.get(ticket_page(ticket)).content.decode()
    refused = client.post(step_url(ticket, "start"), {"seen_status": "open"}, follow=True)

    assert "Nothing for you to do on this ticket now." in page
    assert "Reply to the customer" not in page and "Add an internal note" not in page
    assert "Your role may not work on complaint tickets." in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_the_note_and_the_reply_on_the_ticket_page_have_fields_of_their_own(client):
    ticket = tickets.open_ticket(subject="Lid", category="damage", severity="normal", actor=staff("Manager"))
    client.force_login(staff("Customer service"))

    page = client.get(reverse("admin:aftersales_ticket_change", args=[ticket.pk])).content.decode()

    assert page.count('id="id_note-text"') == 1 and page.count('id="id_reply-text"') == 1
    assert 'id="id_text"' not in page
