"""Complaint tickets: opened by staff or by a low rating, answered within the hours their severity
allows, worked through their steps and resolved with a root cause and a corrective action. Each
function is one transaction; opening one locks its order (so a delivered order is not completed
while a complaint about it is being opened), the others lock the ticket row."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from core.actors import SYSTEM, Actor, person, stored_user
from core.permissions import Aftersales, require
from core.transitions import TransitionRefused, number_for, record_transition
from logistics.models import Shipment
from orders.services.notifications import retry_delay

from .. import locks
from ..models import ReturnRequest, Ticket, TicketEvent, TicketMessage

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = Ticket._meta.get_field("subject").max_length


def response_deadline(opened_at: datetime, severity: str) -> datetime:
    """When a ticket of `severity` opened at `opened_at` must have had its first answer."""
    return opened_at + timedelta(hours=settings.TICKET_RESPONSE_HOURS[severity])


def may_handle(user: AbstractUser) -> bool:
    return user.is_active and user.has_perm(Aftersales.HANDLE_TICKET)


def _ensure_may_handle(actor):
    require(actor, Aftersales.HANDLE_TICKET, _("Your role may not work on complaint tickets."))


def staff_name(user: AbstractUser) -> str:
    return user.get_full_name() or user.get_username()


def _assignee(user_id):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not may_handle(user):
        raise ValidationError({"assigned_to": _("Choose someone who works on complaint tickets.")})
    return user


def _choice_errors(*, category=None, severity=None):
    errors = {}
    if category is not None and category not in Ticket.Category.values:
        errors["category"] = [_("Choose one of the categories.")]
    if severity is not None and severity not in Ticket.Severity.values:
        errors["severity"] = [_("Choose one of the severities.")]
    return errors


def _linked_case(model, case_id, field):
    if case_id is None:
        return None
    case = model.objects.filter(pk=case_id).first()
    if case is None:
        raise ValidationError({field: _("It does not exist (any more).")})
    return case


def _order_of(order_id, shipment, return_request):
    """The order the ticket is about: the one named, else the order of its shipment or return.
    A shipment or return of another order is refused, naming which one."""
    for case, field, message in (
        (shipment, "shipment", _("This shipment belongs to order %(number)s, not to the ticket's order.")),
        (return_request, "return_request", _("This return belongs to order %(number)s, not to the ticket's order.")),
    ):
        if case is None:
            continue
        if order_id is None:
            order_id = case.order_id
        elif case.order_id != order_id:
            raise ValidationError({field: message % {"number": case.order.number}})
    if order_id is None:
        return None
    # Only the order row: the customer's is read, not changed, and stays free for others.
    order = locks.lock_order_for_case(order_id)
    if order is None:
        raise ValidationError({"order": _("There is no such order.")})
    return order


@transaction.atomic
def open_ticket(
    *,
    subject: str,
    category: str,
    severity: str,
    actor: Actor,
    description: str = "",
    order_id: int | None = None,
    shipment_id: int | None = None,
    return_id: int | None = None,
    assigned_to_id: int | None = None,
    source: str = Ticket.Source.CONSOLE,
) -> Ticket:
    """Open a complaint, about an order (and one of its shipments or returns) or about nothing
    in particular; its customer is the order's. It must be answered within the hours of its
    severity (settings.TICKET_RESPONSE_HOURS). A low rating opens one as the system."""
    require(actor, Aftersales.ADD_TICKET, _("Your role may not open complaint tickets."))
    subject, description = (subject or "").strip(), (description or "").strip()
    errors = _choice_errors(category=category, severity=severity)
    if not subject:
        errors["subject"] = [_("Say in a few words what the complaint is about.")]
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = [
            _("Keep the subject under %(count)s characters; the details go in the description.")
            % {"count": SUBJECT_MAX_LENGTH}
        ]
    if errors:
        raise ValidationError(errors)
    shipment = _linked_case(Shipment, shipment_id, "shipment")
    return_request = _linked_case(ReturnRequest, return_id, "return_request")
    order = _order_of(order_id, shipment, return_request)
    assignee = _assignee(assigned_to_id) if assigned_to_id is not None else None
    opened_at = timezone.now()
    ticket = Ticket.objects.create(
        subject=subject,
        description=description,
        category=category,
        severity=severity,
        source=source,
        order=order,
        shipment=shipment,
        return_request=return_request,
        customer=order.customer if order is not None else None,
        channel_id=order.channel_id if order is not None else None,
        assigned_to=assignee,
        opened_by=stored_user(actor),
        created_at=opened_at,
        respond_by=response_deadline(opened_at, severity),
    )
    ticket.number = number_for(ticket, "T")
    ticket.save(update_fields=["number"])
    _log(ticket, "open", actor, _("Assigned to %(user)s.") % {"user": staff_name(assignee)} if assignee else "")
    return ticket


def _log(ticket, what, actor, reason=""):
    """An event that is not a change of status (opening, assignment, severity) in the ticket's log."""
    return TicketEvent.objects.create(
        ticket=ticket,
        from_status="" if what == "open" else ticket.status,
        to_status=ticket.status,
        transition=what,
        actor=stored_user(actor),
        reason=reason,
    )


def lock_ticket(ticket_id: int, expected_status: str | None = None) -> Ticket:
    """Lock the ticket row. `expected_status` is the status the person acting saw: if someone
    changed the ticket meanwhile, they are told instead of acting on a ticket they have not seen."""
    ticket = locks.lock_ticket(ticket_id)
    if expected_status and ticket.status != expected_status:
        raise TransitionRefused(
            _(
                "Ticket %(number)s changed while you were looking at it: it is %(status)s now. Check it again before you act."
            )
            % {"number": ticket.number, "status": ticket.get_status_display()}
        )
    return ticket


def _ensure_not_finished(ticket, message):
    if ticket.status not in Ticket.OPEN:
        raise TransitionRefused(message % {"number": ticket.number, "status": ticket.get_status_display()})


@transaction.atomic
def change_severity(ticket_id: int, *, severity: str, actor: Actor) -> Ticket:
    """A complaint turns out more (or less) pressing: its deadline is counted again from when it
    was opened."""
    _ensure_may_handle(actor)
    errors = _choice_errors(severity=severity)
    if errors:
        raise ValidationError(errors)
    ticket = lock_ticket(ticket_id)
    _ensure_not_finished(ticket, _("Ticket %(number)s is %(status)s: its severity no longer changes."))
    if severity == ticket.severity:
        return ticket
    before = ticket.get_severity_display()
    ticket.severity = severity
    ticket.respond_by = response_deadline(ticket.created_at, severity)
    ticket.save()
    _log(
        ticket,
        "change_severity",
        actor,
        _("Severity %(before)s → %(after)s.") % {"before": before, "after": ticket.get_severity_display()},
    )
    return ticket


@transaction.atomic
def assign(ticket_id: int, user_id: int, actor: Actor) -> Ticket:
    """Give the ticket to someone who works on complaints."""
    _ensure_may_handle(actor)
    assignee = _assignee(user_id)
    ticket = lock_ticket(ticket_id)
    if ticket.status == Ticket.Status.CLOSED:
        raise TransitionRefused(_("Ticket %(number)s is closed.") % {"number": ticket.number})
    if ticket.assigned_to_id == assignee.pk:
        return ticket
    ticket.assigned_to = assignee
    ticket.save()
    _log(ticket, "assign", actor, _("Assigned to %(user)s.") % {"user": staff_name(assignee)})
    return ticket


def _required_text(text, field="text"):
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("Write something first.")})
    return text


@transaction.atomic
def add_note(ticket_id: int, *, text: str, actor: Actor, answered_customer: bool = False) -> TicketMessage:
    """A note for colleagues: never shown to the customer. `answered_customer`: it records an
    answer given another way (a phone call, the only way to a customer without an email address),
    which is the ticket's first response as a reply would be."""
    _ensure_may_handle(actor)
    text = _required_text(text)
    ticket = lock_ticket(ticket_id)
    note = TicketMessage.objects.create(ticket=ticket, kind=TicketMessage.Kind.NOTE, text=text, author=person(actor))
    if answered_customer:
        _first_response(ticket, note)
    return note


def _first_response(ticket, message):
    if ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        ticket.save()


@transaction.atomic
def reply(ticket_id: int, *, text: str, actor: Actor) -> TicketMessage:
    """Answer the customer by email (to the order's customer). It is sent by a background task
    once this is committed; the first reply is the ticket's first response."""
    _ensure_may_handle(actor)
    text = _required_text(text)
    ticket = lock_ticket(ticket_id)
    if ticket.status == Ticket.Status.CLOSED:
        raise TransitionRefused(
            _("Ticket %(number)s is closed: open a new ticket to take the matter up again.") % {"number": ticket.number}
        )
    email = (ticket.customer.email if ticket.customer is not None else "").strip()
    if not email:
        raise ValidationError(
            _(
                "We have no email address for this customer, so nothing can be sent. Call them on the order's "
                "phone number instead and record what was said as a note that answers the customer."
            )
        )
    message = TicketMessage.objects.create(
        ticket=ticket,
        kind=TicketMessage.Kind.REPLY,
        text=text,
        sent_to=email,
        author=person(actor),
    )
    _first_response(ticket, message)
    transaction.on_commit(partial(enqueue_reply, message.pk), robust=True)
    return message


def enqueue_reply(message_id: int, *, attempt: int = 1, delay: timedelta | None = None) -> None:
    """Hand one reply to the background worker, to be sent now or after `delay`. A backend that
    cannot wait (the immediate one of tests and development) tries again at once instead."""
    # The task module calls back into this one, so it is imported when first needed.
    from ..tasks import send_ticket_reply

    task = send_ticket_reply
    if delay and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(message_id, attempt)


def send_reply(message_id: int, attempt: int = 1) -> TicketMessage | None:
    """Email one reply to the customer, in the order's language; the background task calls this.
    A failure is tried again later, waiting longer each time, as the order's messages are
    (settings.NOTIFICATION_MAX_ATTEMPTS tries in all); when the last one fails, `reply_not_delivered`."""
    message = TicketMessage.objects.select_related("ticket__order").get(pk=message_id)
    ticket = message.ticket
    # A reply goes only to the customer of the ticket's order, so there is always an order here.
    with translation.override(ticket.order.language or settings.CUSTOMER_LANGUAGE):
        subject = _("About your order %(order)s (our reference %(ticket)s)") % {
            "order": ticket.order.number,
            "ticket": ticket.number,
        }
    try:
        EmailMessage(
            subject=subject,
            body=f"{message.text}\n\n{settings.SHOP_NAME}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.sent_to],
        ).send()
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is tried again
        problem = f"{type(error).__name__}: {error}"
        if attempt >= settings.NOTIFICATION_MAX_ATTEMPTS:
            logger.error(
                "Reply %s on ticket %s failed for good after %s attempts: %s",
                message.pk,
                ticket.number,
                attempt,
                problem,
            )
            reply_not_delivered(message.pk, problem)
        else:
            logger.warning(
                "Reply %s on ticket %s failed (attempt %s), trying again: %s",
                message.pk,
                ticket.number,
                attempt,
                problem,
            )
            enqueue_reply(message.pk, attempt=attempt + 1, delay=retry_delay(attempt))
        return None
    logger.info("Reply %s on ticket %s sent to the customer.", message.pk, ticket.number)
    return message


@transaction.atomic
def reply_not_delivered(message_id: int, problem: str) -> None:
    """A reply the mail server would not take: the ticket's log says so, for staff to reach the
    customer another way, and the reply stops being the ticket's first response (the next reply
    is, if there is one), so an unanswered ticket comes back to the overdue queue."""
    message = TicketMessage.objects.get(pk=message_id)
    ticket = lock_ticket(message.ticket_id)
    if ticket.first_response_at == message.created_at:
        later = (
            ticket.messages.filter(kind=TicketMessage.Kind.REPLY, created_at__gt=message.created_at)
            .order_by("created_at", "id")
            .first()
        )
        ticket.first_response_at = later.created_at if later is not None else None
        ticket.save()
    _log(
        ticket,
        "reply_failed",
        SYSTEM,
        _("The reply “%(text)s” could not be sent to %(email)s: %(problem)s")
        % {
            "text": Truncator(message.text).chars(60),
            "email": message.sent_to,
            "problem": problem,
        },
    )


def _step(ticket_id, name, *, actor, reason="", expected_status=None):
    _ensure_may_handle(actor)
    ticket = lock_ticket(ticket_id, expected_status)
    return record_transition(ticket, getattr(ticket, name), actor=actor, reason=reason)


@transaction.atomic
def start(ticket_id: int, *, actor: Actor, expected_status: str | None = None) -> TicketEvent:
    return _step(ticket_id, "start", actor=actor, expected_status=expected_status)


@transaction.atomic
def wait_for_customer(ticket_id: int, *, actor: Actor, expected_status: str | None = None) -> TicketEvent:
    return _step(ticket_id, "wait_for_customer", actor=actor, expected_status=expected_status)


@transaction.atomic
def resume(ticket_id: int, *, actor: Actor, expected_status: str | None = None) -> TicketEvent:
    return _step(ticket_id, "resume", actor=actor, expected_status=expected_status)


@transaction.atomic
def resolve(
    ticket_id: int, *, root_cause: str, corrective_action: str, actor: Actor, expected_status: str | None = None
) -> TicketEvent:
    """Resolve a complaint, saying what caused it and what is done so it does not happen again."""
    _ensure_may_handle(actor)
    ticket = lock_ticket(ticket_id, expected_status)
    ticket.root_cause, ticket.corrective_action = (root_cause or "").strip(), (corrective_action or "").strip()
    # Missing words are asked for only when the ticket could be resolved with them; otherwise
    # its status is what stands in the way, and record_transition says so.
    if can_proceed(ticket.resolve, check_conditions=False) and not ticket.has_cause_and_action():
        errors = {}
        if not ticket.root_cause:
            errors["root_cause"] = [_("Say what caused the problem.")]
        if not ticket.corrective_action:
            errors["corrective_action"] = [_("Say what is done so it does not happen again.")]
        raise ValidationError(errors)
    reason = _("Root cause: %(cause)s\nCorrective action: %(action)s") % {
        "cause": ticket.root_cause,
        "action": ticket.corrective_action,
    }
    return record_transition(ticket, ticket.resolve, actor=actor, reason=reason)


@transaction.atomic
def reopen(ticket_id: int, *, reason: str, actor: Actor, expected_status: str | None = None) -> TicketEvent:
    """Take a resolved complaint up again (the customer is not satisfied after all)."""
    _ensure_may_handle(actor)
    reason = _required_text(reason, "reason")
    return _step(ticket_id, "reopen", actor=actor, reason=reason, expected_status=expected_status)


@transaction.atomic
def close(ticket_id: int, *, actor: Actor, expected_status: str | None = None) -> TicketEvent:
    return _step(ticket_id, "close", actor=actor, expected_status=expected_status)
