"""Complaint tickets: opening one about an order (its shipment or return), the answer deadline of
each severity, every step of the ticket's life and each refusal, replies that email the customer,
internal notes, the overdue queue, and who may work on tickets."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.test import override_settings
from django.utils import timezone

from aftersales.models import ReturnRequest, Ticket, TicketMessage
from aftersales.selectors import tickets as selectors
from aftersales.services import tickets
from core.transitions import TransitionRefused
from orders.models import Customer, Order
from orders.services.acceptance import complete_delivered_orders
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_concurrency import race

pytestmark = pytest.mark.django_db

Status = Ticket.Status
EMAIL = "kunde@example.com"
RESPONSE_HOURS = {"urgent": 2, "high": 10, "normal": 50}


@pytest.fixture
def product():
    item = ProductFactory()
    stock(item, WarehouseFactory(), 50)
    return item


@pytest.fixture
def order(product):
    return place(lines=[(product, 1)], email=EMAIL, language="en")


@pytest.fixture
def agent():
    return staff("Customer service")


def open_for(order, actor, **overrides):
    values = {
        "subject": "Teapot arrived cracked",
        "category": Ticket.Category.DAMAGE,
        "severity": Ticket.Severity.NORMAL,
        "description": "The lid is broken.",
        "order_id": order.pk,
    }
    values.update(overrides)
    return tickets.open_ticket(actor=actor, **values)


def resolved(ticket, actor):
    tickets.resolve(ticket.pk, root_cause="Thin box", corrective_action="Double boxes for teapots", actor=actor)
    ticket.refresh_from_db()
    return ticket


def make_return(order, agent):
    return ReturnRequest.objects.create(
        order=order,
        wanted_outcome="refund",
        window_days=7,
        within_window=True,
        requested_by=agent,
    )


# --- opening ------------------------------------------------------------------------------------


def test_opening_a_ticket_numbers_it_takes_the_customer_from_the_order_and_logs_it(order, agent):
    ticket = open_for(order, agent)

    assert ticket.number == f"T{timezone.localdate(ticket.created_at):%y%m%d}-{ticket.pk:06d}"
    assert ticket.status == Status.OPEN
    assert ticket.customer == order.customer
    assert ticket.source == Ticket.Source.CONSOLE
    assert ticket.opened_by == agent
    assert [(e.from_status, e.to_status, e.transition, e.actor) for e in ticket.events.all()] == [
        ("", Status.OPEN, "open", agent),
    ]


@override_settings(TICKET_RESPONSE_HOURS=RESPONSE_HOURS)
@pytest.mark.parametrize("severity", ["urgent", "high", "normal"])
def test_the_answer_deadline_is_the_severitys_hours_from_settings_after_opening(order, agent, severity):
    ticket = open_for(order, agent, severity=severity)

    assert ticket.respond_by == ticket.created_at + timedelta(hours=RESPONSE_HOURS[severity])


def test_changing_the_severity_counts_the_deadline_again_from_the_opening_time(order, agent):
    ticket = open_for(order, agent, severity=Ticket.Severity.NORMAL)

    tickets.change_severity(ticket.pk, severity=Ticket.Severity.URGENT, actor=agent)

    ticket.refresh_from_db()
    assert ticket.severity == Ticket.Severity.URGENT
    assert ticket.respond_by == ticket.created_at + timedelta(hours=4)
    event = ticket.events.last()
    assert (event.transition, event.reason) == ("change_severity", "Severity Normal → Urgent.")


def test_the_severity_of_a_resolved_ticket_no_longer_changes(order, agent):
    ticket = resolved(open_for(order, agent), agent)

    with pytest.raises(TransitionRefused):
        tickets.change_severity(ticket.pk, severity=Ticket.Severity.URGENT, actor=agent)


def test_a_ticket_may_be_about_a_shipment_and_a_return_of_its_order(order, agent):
    order = advance(order, "shipped")
    shipment = order.shipments.get()
    return_request = make_return(order, agent)

    ticket = open_for(order, agent, shipment_id=shipment.pk, return_id=return_request.pk)

    assert (ticket.order, ticket.shipment, ticket.return_request) == (order, shipment, return_request)


def test_a_ticket_about_a_shipment_alone_is_about_the_shipments_order(order, agent):
    shipment = advance(order, "shipped").shipments.get()

    ticket = open_for(order, agent, order_id=None, shipment_id=shipment.pk)

    assert ticket.order == order
    assert ticket.customer == order.customer


def test_a_shipment_or_return_of_another_order_is_refused(product, order, agent):
    other = advance(place(lines=[(product, 1)]), "shipped")
    with pytest.raises(ValidationError) as refused:
        open_for(order, agent, shipment_id=other.shipments.get().pk)
    assert other.number in refused.value.message_dict["shipment"][0]

    with pytest.raises(ValidationError) as refused:
        open_for(order, agent, return_id=make_return(other, agent).pk)
    assert list(refused.value.message_dict) == ["return_request"]
    assert not Ticket.objects.exists()


def test_subject_category_and_severity_are_checked_and_named(order, agent):
    with pytest.raises(ValidationError) as refused:
        open_for(order, agent, subject="  ", category="weather", severity="whenever")

    assert set(refused.value.message_dict) == {"subject", "category", "severity"}
    assert not Ticket.objects.exists()


def test_a_subject_too_long_for_the_ticket_is_refused_not_cut(order, agent):
    with pytest.raises(ValidationError) as refused:
        open_for(order, agent, subject="x" * 201)

    assert list(refused.value.message_dict) == ["subject"]


def lock_at_once(model, pk):
    """Whether another connection can lock the row now (a DatabaseError when it is locked)."""
    with transaction.atomic():
        model.objects.select_for_update(nowait=True).get(pk=pk)
    return True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_opening_a_ticket_locks_its_order_and_not_its_customer(order, agent):
    with transaction.atomic():
        open_for(order, agent)
        customer_free, order_free = race(
            lambda: lock_at_once(Customer, order.customer_id), lambda: lock_at_once(Order, order.pk)
        )

    assert customer_free is True
    assert isinstance(order_free, DatabaseError)


def test_a_ticket_about_nothing_in_particular_has_no_customer(agent):
    ticket = tickets.open_ticket(subject="Rude courier", category="service", severity="high", actor=agent)

    assert (ticket.order, ticket.customer) == (None, None)


# --- assignment ---------------------------------------------------------------------------------


def test_a_ticket_is_assigned_only_to_someone_who_handles_tickets(order, agent):
    ticket = open_for(order, agent)
    colleague = staff("Customer service")

    with pytest.raises(ValidationError) as refused:
        tickets.assign(ticket.pk, staff("Warehouse operator").pk, agent)
    assert list(refused.value.message_dict) == ["assigned_to"]

    tickets.assign(ticket.pk, colleague.pk, agent)
    ticket.refresh_from_db()
    assert ticket.assigned_to == colleague
    assert (ticket.events.last().transition, ticket.events.last().reason) == ("assign", f"Assigned to {colleague}.")


def test_a_ticket_may_be_opened_already_assigned(order, agent):
    colleague = staff("Customer service")

    ticket = open_for(order, agent, assigned_to_id=colleague.pk)

    assert ticket.assigned_to == colleague
    with pytest.raises(ValidationError):
        open_for(order, agent, assigned_to_id=staff("Finance").pk)


# --- the steps ----------------------------------------------------------------------------------


def test_a_ticket_goes_through_every_step_to_closed_and_each_is_logged(order, agent):
    ticket = open_for(order, agent)

    tickets.start(ticket.pk, actor=agent)
    tickets.wait_for_customer(ticket.pk, actor=agent)
    tickets.resume(ticket.pk, actor=agent)
    ticket = resolved(ticket, agent)
    assert ticket.resolved_at is not None
    tickets.close(ticket.pk, actor=agent)

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at is not None
    assert [(e.from_status, e.to_status, e.transition) for e in ticket.events.all()] == [
        ("", "open", "open"),
        ("open", "in_progress", "start"),
        ("in_progress", "waiting_customer", "wait_for_customer"),
        ("waiting_customer", "in_progress", "resume"),
        ("in_progress", "resolved", "resolve"),
        ("resolved", "closed", "close"),
    ]
    assert ticket.events.get(transition="resolve").reason == (
        "Root cause: Thin box\nCorrective action: Double boxes for teapots"
    )


@pytest.mark.parametrize("path", [[], ["start"], ["start", "wait_for_customer"]])
def test_a_ticket_may_be_resolved_from_any_open_status(order, agent, path):
    ticket = open_for(order, agent)
    for step in path:
        getattr(tickets, step)(ticket.pk, actor=agent)

    assert resolved(ticket, agent).status == Status.RESOLVED


def test_resolving_needs_the_root_cause_and_the_corrective_action(order, agent):
    ticket = open_for(order, agent)

    with pytest.raises(ValidationError) as refused:
        tickets.resolve(ticket.pk, root_cause=" ", corrective_action="", actor=agent)
    assert set(refused.value.message_dict) == {"root_cause", "corrective_action"}

    with pytest.raises(ValidationError) as refused:
        tickets.resolve(ticket.pk, root_cause="Thin box", corrective_action="", actor=agent)
    assert set(refused.value.message_dict) == {"corrective_action"}

    ticket.refresh_from_db()
    assert (ticket.status, ticket.root_cause, ticket.resolved_at) == (Status.OPEN, "", None)


def test_a_resolved_ticket_is_reopened_with_a_reason(order, agent):
    ticket = resolved(open_for(order, agent), agent)

    with pytest.raises(ValidationError) as refused:
        tickets.reopen(ticket.pk, reason="  ", actor=agent)
    assert list(refused.value.message_dict) == ["reason"]

    tickets.reopen(ticket.pk, reason="The replacement is cracked too", actor=agent)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == (Status.IN_PROGRESS, None)
    assert ticket.events.last().reason == "The replacement is cracked too"


@pytest.mark.parametrize(
    "path, step",
    [
        ([], "resume"),
        ([], "wait_for_customer"),
        ([], "close"),
        ([], "reopen"),
        (["start"], "start"),
        (["start"], "close"),
        (["start", "wait_for_customer"], "wait_for_customer"),
        (["resolve"], "start"),
        (["resolve"], "resolve"),
        (["resolve", "close"], "reopen"),
        (["resolve", "close"], "resolve"),
        (["resolve", "close"], "close"),
    ],
)
def test_a_step_the_status_does_not_allow_is_refused(order, agent, path, step):
    ticket = open_for(order, agent)
    for taken in path:
        if taken == "resolve":
            resolved(ticket, agent)
        else:
            getattr(tickets, taken)(ticket.pk, actor=agent)
    ticket.refresh_from_db()
    status_before, events_before = ticket.status, ticket.events.count()
    arguments = {"resolve": {"root_cause": "c", "corrective_action": "a"}, "reopen": {"reason": "r"}}.get(step, {})

    with pytest.raises(TransitionRefused) as refused:
        getattr(tickets, step)(ticket.pk, actor=agent, **arguments)

    assert ticket.number in str(refused.value)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.events.count()) == (status_before, events_before)


def test_a_step_on_a_ticket_someone_changed_meanwhile_is_refused(order, agent):
    ticket = open_for(order, agent)
    tickets.start(ticket.pk, actor=staff("Customer service"))

    with pytest.raises(TransitionRefused, match="changed while you were looking"):
        tickets.wait_for_customer(ticket.pk, actor=agent, expected_status=Status.OPEN)


# --- replies and notes --------------------------------------------------------------------------


def test_a_reply_emails_the_customer_after_commit_and_is_the_first_response(
    order, agent, django_capture_on_commit_callbacks
):
    ticket = open_for(order, agent)

    with django_capture_on_commit_callbacks(execute=True):
        message = tickets.reply(ticket.pk, text="We are sending a new teapot today.", actor=agent)
        assert mail.outbox == []

    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert email.subject == f"About your order {order.number} (our reference {ticket.number})"
    assert email.body.startswith("We are sending a new teapot today.")
    assert (message.kind, message.sent_to, message.author) == (TicketMessage.Kind.REPLY, EMAIL, agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at == message.created_at

    with django_capture_on_commit_callbacks(execute=True):
        tickets.reply(ticket.pk, text="It left our warehouse.", actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at == message.created_at
    assert len(mail.outbox) == 2


def test_a_reply_to_a_customer_without_email_is_refused_suggesting_a_call(
    product, agent, django_capture_on_commit_callbacks
):
    order = place(lines=[(product, 1)], phone="13900139000")
    ticket = open_for(order, agent)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
        tickets.reply(ticket.pk, text="Hello", actor=agent)

    assert "Call them" in refused.value.messages[0]
    assert "note" in refused.value.messages[0]
    assert mail.outbox == []
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert not ticket.messages.exists()


def test_a_closed_ticket_is_not_answered_any_more(order, agent):
    ticket = resolved(open_for(order, agent), agent)
    tickets.close(ticket.pk, actor=agent)

    with pytest.raises(TransitionRefused):
        tickets.reply(ticket.pk, text="One more thing", actor=agent)


def test_an_internal_note_is_kept_apart_from_replies_and_sends_nothing(
    order, agent, django_capture_on_commit_callbacks
):
    ticket = open_for(order, agent)

    with django_capture_on_commit_callbacks(execute=True):
        note = tickets.add_note(ticket.pk, text="Customer called, very upset.", actor=agent)

    assert (note.kind, note.sent_to) == (TicketMessage.Kind.NOTE, "")
    assert mail.outbox == []
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    with pytest.raises(ValidationError):
        tickets.add_note(ticket.pk, text="   ", actor=agent)


def test_a_note_that_answers_the_customer_by_phone_is_the_first_response(product, agent):
    order = place(lines=[(product, 1)], phone="13900139000")
    ticket = open_for(order, agent, severity="urgent")
    day_later = timezone.now() + timedelta(hours=25)
    tickets.add_note(ticket.pk, text="Supplier asked for photos.", actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert selectors.overdue_tickets(now=day_later).get() == ticket

    call = tickets.add_note(ticket.pk, text="Called: a new lid goes out today.", actor=agent, answered_customer=True)
    tickets.add_note(ticket.pk, text="Called again.", actor=agent, answered_customer=True)

    ticket.refresh_from_db()
    assert ticket.first_response_at == call.created_at
    assert not selectors.overdue_tickets(now=day_later).exists()
    assert list(ticket.messages.values_list("kind", "sent_to")) == [("note", "")] * 3


def refusing_mail_server(monkeypatch, refusals):
    """Email that fails `refusals` times (then goes through); returns the list of tries."""
    tries = []

    def send(message, fail_silently=False):
        tries.append(message.to)
        if len(tries) <= refusals:
            raise ConnectionRefusedError("mail server down")
        mail.outbox.append(message)
        return 1

    monkeypatch.setattr(tickets.EmailMessage, "send", send)
    return tries


@override_settings(NOTIFICATION_MAX_ATTEMPTS=3)
def test_a_reply_the_mail_server_refuses_is_tried_again(order, agent, monkeypatch, django_capture_on_commit_callbacks):
    tries = refusing_mail_server(monkeypatch, refusals=2)
    ticket = open_for(order, agent)

    with django_capture_on_commit_callbacks(execute=True):
        message = tickets.reply(ticket.pk, text="A new lid is on its way.", actor=agent)

    assert tries == [[EMAIL]] * 3
    assert [email.body.split("\n")[0] for email in mail.outbox] == ["A new lid is on its way."]
    ticket.refresh_from_db()
    assert ticket.first_response_at == message.created_at
    assert not ticket.events.filter(transition="reply_failed").exists()


@override_settings(NOTIFICATION_MAX_ATTEMPTS=3)
def test_a_reply_that_is_never_delivered_is_logged_and_leaves_the_ticket_unanswered(
    order, agent, monkeypatch, django_capture_on_commit_callbacks
):
    tries = refusing_mail_server(monkeypatch, refusals=3)
    ticket = open_for(order, agent, severity="urgent")

    with django_capture_on_commit_callbacks(execute=True):
        tickets.reply(ticket.pk, text="A new lid is on its way.", actor=agent)

    assert (len(tries), mail.outbox) == (3, [])
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert selectors.overdue_tickets(now=timezone.now() + timedelta(hours=5)).get() == ticket
    failed = ticket.events.get(transition="reply_failed")
    assert failed.actor is None
    assert failed.reason == (
        f"The reply “A new lid is on its way.” could not be sent to {EMAIL}: ConnectionRefusedError: mail server down"
    )


def test_when_the_first_reply_is_not_delivered_the_next_one_is_the_first_response(order, agent, monkeypatch):
    ticket = open_for(order, agent)
    first = tickets.reply(ticket.pk, text="First", actor=agent)
    second = tickets.reply(ticket.pk, text="Second", actor=agent)

    tickets.reply_not_delivered(second.pk, "refused")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first.created_at

    tickets.reply_not_delivered(first.pk, "refused")
    ticket.refresh_from_db()
    assert ticket.first_response_at == second.created_at


# --- the overdue queue --------------------------------------------------------------------------


def test_the_overdue_queue_lists_exactly_the_open_unanswered_tickets_past_their_deadline(
    order, agent, django_capture_on_commit_callbacks
):
    urgent = open_for(order, agent, severity="urgent", subject="urgent")
    high = open_for(order, agent, severity="high", subject="high")
    waiting = open_for(order, agent, severity="urgent", subject="waiting")
    tickets.start(waiting.pk, actor=agent)
    tickets.wait_for_customer(waiting.pk, actor=agent)
    open_for(order, agent, severity="normal", subject="not due yet")
    answered = open_for(order, agent, severity="urgent", subject="answered")
    with django_capture_on_commit_callbacks(execute=True):
        tickets.reply(answered.pk, text="On it.", actor=agent)
    answered.refresh_from_db()
    resolved(open_for(order, agent, severity="urgent", subject="resolved"), agent)
    day_later = timezone.now() + timedelta(hours=25)

    assert list(selectors.overdue_tickets(now=day_later)) == [urgent, waiting, high]
    assert list(selectors.overdue_tickets()) == []
    assert selectors.is_overdue(urgent, now=day_later)
    assert not selectors.is_overdue(answered, now=day_later)
    assert selectors.open_tickets().count() == 5


# --- roles --------------------------------------------------------------------------------------


def test_a_warehouse_operator_cannot_handle_tickets(order, agent):
    ticket = open_for(order, agent)
    operator = staff("Warehouse operator")

    for attempt in (
        lambda: tickets.start(ticket.pk, actor=operator),
        lambda: tickets.resolve(ticket.pk, root_cause="", corrective_action="", actor=operator),
        lambda: tickets.reply(ticket.pk, text="Hi", actor=operator),
        lambda: tickets.add_note(ticket.pk, text="Hi", actor=operator),
        lambda: tickets.assign(ticket.pk, agent.pk, operator),
        lambda: tickets.change_severity(ticket.pk, severity="urgent", actor=operator),
        lambda: open_for(order, operator),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.messages.count(), Ticket.objects.count()) == (Status.OPEN, 0, 1)


def test_an_open_complaint_holds_back_the_orders_completion_until_it_is_closed(order, agent):
    order = advance(order, "delivered")
    ticket = open_for(order, agent)
    later = timezone.now() + timedelta(days=30)

    assert complete_delivered_orders(now=later).held_back == 1
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED

    tickets.close(resolved(ticket, agent).pk, actor=agent)
    assert complete_delivered_orders(now=later).completed == 1
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
