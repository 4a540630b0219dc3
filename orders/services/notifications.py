"""Telling customers about their order. `notify` writes the shop's message for an event in the
customer's language and queues one notification per medium; a background task sends each one,
trying again later when sending fails, and the log keeps what was sent, to whom and what became
of it. Staff may resend a message."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.actors import Actor, stored_user
from core.permissions import Orders, require

from .. import locks
from ..events import MESSAGE_CONTEXT
from ..models import Customer, Notification, NotificationEvent, NotificationMedium, NotificationTemplate, Order
from ..notifications.sms import send_sms
from .phones import normalize_phone

logger = logging.getLogger(__name__)

# Messages are plain text, so nothing in them is HTML-escaped; and this engine has no template
# folders, so a template written in the console cannot pull in files from the server.
ENGINE = Engine(autoescape=False)
FALLBACK_LANGUAGE = "en"

# A held order is announced only when the customer can put it right, and the message says what
# is needed. Holds for risk (order value, repeat orders) are never announced, and nothing at all
# goes to a blocklisted phone or address: that would tell a fraudster what the shop noticed.
CUSTOMER_FIXABLE_HOLDS = {
    "address_incomplete": "needs_address",
    "phone_invalid": "needs_phone",
    "payment_mismatch": "needs_payment",
}
BLOCKLIST_HOLDS = {"blocked_phone", "blocked_address"}

# After the first failure the next try waits a minute, then five, then twenty-five.
FIRST_RETRY_DELAY = timedelta(minutes=1)
RETRY_DELAY_GROWTH = 5


def held_for_customer(hold_reasons: Iterable[dict[str, Any]]) -> bool:
    """Whether an order held for these reasons waits for something only its customer can give."""
    codes = {reason.get("code") for reason in hold_reasons}
    return bool(codes & CUSTOMER_FIXABLE_HOLDS.keys()) and not codes & BLOCKLIST_HOLDS


def tracking_page_url(order: Order) -> str:
    """The public tracking page of the order (asks for the last four digits of the phone)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/track/?{urlencode({'order': order.number})}"


def message_context(order: Order, *, shipment: Any = None) -> dict[str, Any]:
    """What a message template may use. `shipment` is a logistics parcel, which orders does not
    import, or the stand-in of `sample_context`."""
    codes = {reason.get("code") for reason in order.hold_reasons}
    context = {
        "order": order,
        "shipment": shipment,
        "carrier": shipment.carrier if shipment is not None else None,
        "tracking_number": shipment.tracking_number if shipment is not None else "",
        "tracking_url": shipment.tracking_url if shipment is not None else "",
        "tracking_page_url": tracking_page_url(order),
        "shop_name": settings.SHOP_NAME,
    }
    context.update({flag: code in codes for code, flag in CUSTOMER_FIXABLE_HOLDS.items()})
    # Apps above orders add what their messages need (after-sales: the feedback link).
    for extras in MESSAGE_CONTEXT.publish(order=order):
        context.update(extras)
    return context


class SampleCarrier(SimpleNamespace):
    """Stands in for a logistics carrier (orders does not import logistics): shown by its name."""

    def __str__(self):
        return self.name


def sample_context() -> dict[str, Any]:
    """Made-up values a template is tried on when it is saved, so a mistake shows to the person
    editing it rather than when a customer is written to. The order and customer have an id no row
    uses, so `order.lines.all` and the like work (and find nothing)."""
    customer = Customer(pk=0, name="王小明", phone="+8613800138000", email="customer@example.com")
    order = Order(
        pk=0,
        number="OC250101-000001",
        customer=customer,
        recipient="王小明",
        phone="+8613800138000",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路 90 号",
        postcode="310012",
        subtotal=Decimal("118.00"),
        shipping_fee=Decimal("10.00"),
        total=Decimal("128.00"),
        payment_method="cod",
        placed_at=timezone.now(),
        hold_reasons=[{"code": "address_incomplete", "params": {}}],
    )
    carrier = SampleCarrier(name="SF Express", code="sf")
    shipment = SimpleNamespace(
        order=order,
        carrier=carrier,
        tracking_number="SF1234567890",
        tracking_url="https://www.sf-express.com/track?no=SF1234567890",
        expected_delivery_on=timezone.localdate() + timedelta(days=2),
        shipped_at=timezone.now(),
        status="shipped",
    )
    # The disruption notice's text, as a manager writes it for an incident.
    message = _("Deliveries to your area are delayed by about two days.")
    return {**message_context(order, shipment=shipment), "message": message}


def render_text(text: str, context: dict[str, Any]) -> str:
    return ENGINE.from_string(text).render(Context(context, autoescape=False))


def render_message(template: NotificationTemplate, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a template filled in, in the template's language. The subject is one
    line: a mail header cannot hold a line break."""
    with translation.override(template.language):
        subject = " ".join(render_text(template.subject, context).split()) if template.subject else ""
        body = render_text(template.body, context).strip()
    return subject[:200], body


def check_template(*, medium: str, subject: str, body: str) -> None:
    """Refuse a message template that cannot be filled in, naming the field and the mistake."""
    errors = {}
    if medium == NotificationMedium.EMAIL and not (subject or "").strip():
        errors["subject"] = [_("An email needs a subject.")]
    context = sample_context()
    for field, text in (("subject", subject), ("body", body)):
        if field in errors or not text:
            continue
        try:
            render_text(text, context)
        except TemplateSyntaxError as error:
            errors[field] = [_("The template has a mistake: %(error)s") % {"error": error}]
        except Exception as error:  # noqa: BLE001 - whatever a template does wrong is shown to its editor
            errors[field] = [_("The template cannot be filled in: %(error)s") % {"error": error}]
    if errors:
        raise ValidationError(errors)


def current_recipient(order: Order, medium: str) -> str:
    """Where the customer is reached now by `medium`: the customer's email address, or the
    order's phone when it is a number a text can go to; "" when there is none."""
    if medium == NotificationMedium.EMAIL:
        return (order.customer.email or "").strip()
    phone, valid = normalize_phone(order.phone)
    return phone if valid else ""


def notify(order: Order, event: str, *, shipment: Any = None) -> list[Notification]:
    """Queue the messages for `event` (a NotificationEvent) to the order's customer: an email when
    the customer has an address, a text to the order's phone, in the order's language (else the
    shop's customer language; English when there is no template in it). They are sent by a
    background task after commit, so a change that is rolled back tells nobody anything. Returns
    the notifications written (none for a hold the customer cannot put right)."""
    return _queue([(order, event, shipment)])


def notify_many(order_events: Iterable[tuple[Order, str]]) -> list[Notification]:
    """`notify` for many orders at once ((order, event) pairs, as intake of a whole file places
    them): the templates are read once and the notifications written together."""
    return _queue([(order, event, None) for order, event in order_events])


@transaction.atomic
def notify_disruption(order_ids: Iterable[int], *, message: str, actor: Actor) -> list[Notification]:
    """Tell the customers of these orders about a disruption of their delivery (an incident,
    docs/architecture.md, "Incidents") with the shop's disruption template, whose `{{ message }}`
    is what the person writing typed. Returns the notifications written."""
    require(actor, Orders.RESEND_NOTIFICATION, _("Your role may not write to customers."))
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": _("Write what the customers are told.")})
    orders = Order.objects.filter(pk__in=set(order_ids)).select_related("customer").order_by("pk")
    return _queue([(order, NotificationEvent.DISRUPTION, None) for order in orders], extra={"message": message})


def _language_of(order):
    return order.language or settings.CUSTOMER_LANGUAGE


def _active_templates(events, languages):
    """The active templates of `events` in `languages` or English, by (event, medium, language)."""
    return {
        (template.event, template.medium, template.language): template
        for template in NotificationTemplate.objects.filter(
            event__in=events, active=True, language__in=set(languages) | {FALLBACK_LANGUAGE}
        )
    }


def _queue(items, extra=None):
    items = [
        (order, event, shipment)
        for order, event, shipment in items
        if event != NotificationEvent.ORDER_HELD or held_for_customer(order.hold_reasons)
    ]
    if not items:
        return []
    templates = _active_templates({event for _o, event, _s in items}, {_language_of(o) for o, _e, _s in items})
    written = []
    for order, event, shipment in items:
        language, context = _language_of(order), None
        for medium in NotificationMedium.values:
            recipient = current_recipient(order, medium)
            if not recipient:
                continue
            template = templates.get((event, medium, language)) or templates.get((event, medium, FALLBACK_LANGUAGE))
            if template is None:
                logger.warning(
                    "No active %s template for %s in %s or English; order %s not told.",
                    medium,
                    event,
                    language,
                    order.number,
                )
                continue
            context = context or {**message_context(order, shipment=shipment), **(extra or {})}
            written.append(_written(order, event, medium, recipient, template, context))
    Notification.objects.bulk_create(written)
    for notification in written:
        if notification.status == Notification.Status.QUEUED:
            # Robust: the change itself is committed by now, so a queue that cannot take the message
            # is logged (the message stays queued in the log) rather than failing the request.
            transaction.on_commit(partial(enqueue_send, notification.pk), robust=True)
    return written


def _written(order, event, medium, recipient, template, context):
    notification = Notification(
        order=order,
        event=event,
        medium=medium,
        recipient=recipient,
        language=template.language,
    )
    try:
        notification.subject, notification.body = render_message(template, context)
    except Exception as error:  # noqa: BLE001 - a broken template must not stop the order it is about
        logger.exception("Template %s could not be filled in for order %s", template.pk, order.number)
        notification.status = Notification.Status.FAILED
        notification.last_error = _("The message template could not be filled in: %(error)s") % {"error": error}
    return notification


def retry_delay(attempts: int) -> timedelta:
    return FIRST_RETRY_DELAY * RETRY_DELAY_GROWTH ** (attempts - 1)


def enqueue_send(notification_id: int, *, delay: timedelta | None = None) -> None:
    """Hand one notification to the background worker, to be sent now or after `delay`. A backend
    that cannot wait (the immediate one of tests and development) retries at once instead."""
    # The task module calls back into this one, so it is imported when first needed.
    from ..tasks.notifications import send_notification as send_task

    task = send_task
    if delay and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(notification_id)


def _transmit(notification):
    if notification.medium == NotificationMedium.EMAIL:
        EmailMessage(
            subject=notification.subject,
            body=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient],
        ).send()
    else:
        order = notification.order
        send_sms(notification.recipient, notification.body, personal=(order.recipient, order.address, order.phone))


def send_notification(notification_id: int) -> Notification | None:
    """Send one notification; the background task calls this. A failure is kept as the last error
    and tried again later, with a longer wait each time, until NOTIFICATION_MAX_ATTEMPTS tries have
    failed. Running it twice for one message is harmless: the row stays locked while it is sent,
    and a message already sent or given up on is left alone."""
    with transaction.atomic():
        notification = locks.lock_notification(notification_id)
        if notification is None or notification.status in (Notification.Status.SENT, Notification.Status.FAILED):
            return notification
        notification.attempts += 1
        try:
            _transmit(notification)
        except Exception as error:  # noqa: BLE001 - any failure of a mail server or SMS provider is retried
            notification.last_error = f"{type(error).__name__}: {error}"
            if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                notification.status = Notification.Status.FAILED
                logger.error(
                    "Notification %s to order %s failed for good after %s attempts: %s",
                    notification.pk,
                    notification.order_id,
                    notification.attempts,
                    notification.last_error,
                )
            else:
                notification.status = Notification.Status.RETRYING
                delay = retry_delay(notification.attempts)
                notification.next_attempt_at = timezone.now() + delay
                logger.warning(
                    "Notification %s failed (attempt %s), trying again in %s: %s",
                    notification.pk,
                    notification.attempts,
                    delay,
                    notification.last_error,
                )
                transaction.on_commit(partial(enqueue_send, notification.pk, delay=delay), robust=True)
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "status", "last_error", "sent_at", "next_attempt_at"])
    return notification


@transaction.atomic
def resend_stuck(stale_before: datetime) -> list[str]:
    """Hand to a worker again every message that has waited to be sent since before `stale_before`
    (docs/architecture.md, "Jobs"): its worker was stopped while sending it (the row's transaction
    rolled back, so it is still queued), or its task was never queued or was lost. Sending twice is
    harmless (the row is locked while it is sent, and a sent message is left alone), so a message
    whose task is only late goes once all the same; its next try is set to now, so the next sweep
    waits a whole period again before it counts as stuck."""
    stuck = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(status__in=(Notification.Status.QUEUED, Notification.Status.RETRYING), next_attempt_at__lt=stale_before)
        .values_list("pk", flat=True)
    )
    if not stuck:
        return []
    Notification.objects.filter(pk__in=stuck).update(next_attempt_at=timezone.now())
    for notification_id in stuck:
        transaction.on_commit(partial(enqueue_send, notification_id), robust=True)
    return [
        ngettext(
            "%(count)s customer message waiting since before %(time)s was handed to a worker again.",
            "%(count)s customer messages waiting since before %(time)s were handed to a worker again.",
            len(stuck),
        )
        % {"count": len(stuck), "time": formats.date_format(timezone.localtime(stale_before), "SHORT_DATETIME_FORMAT")}
    ]


@transaction.atomic
def resend(notification_id: int, *, actor: Actor) -> Notification:
    """Send a message again as a new log entry pointing at the one it repeats. The text is the
    same as before, so what the log shows is what the customer gets, even after the template has
    been edited or the order has moved on; it goes to where the customer is reached now (an email
    address corrected since), or where it went before when there is no such address any more."""
    require(actor, Orders.RESEND_NOTIFICATION, _("Your role may not resend messages to customers."))
    original = Notification.objects.select_related("order__customer").get(pk=notification_id)
    if not original.body:
        raise ValidationError(
            _("This message was never written (its template could not be filled in), so there is nothing to resend.")
        )
    copy = Notification.objects.create(
        order=original.order,
        event=original.event,
        medium=original.medium,
        recipient=current_recipient(original.order, original.medium) or original.recipient,
        language=original.language,
        subject=original.subject,
        body=original.body,
        resend_of=original,
        requested_by=stored_user(actor),
    )
    transaction.on_commit(partial(enqueue_send, copy.pk), robust=True)
    return copy


@transaction.atomic
def save_template(
    template_id: int | None = None,
    *,
    actor: Actor,
    event: str,
    medium: str,
    language: str,
    subject: str,
    body: str,
    active: bool,
) -> NotificationTemplate:
    """Add a message template, or change the text of one (its event, medium and language stay)."""
    permission = Orders.CHANGE_NOTIFICATIONTEMPLATE if template_id else Orders.ADD_NOTIFICATIONTEMPLATE
    require(actor, permission, _("Your role may not edit message templates."))
    subject, body = (subject or "").strip(), (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the message.")})
    check_template(medium=medium, subject=subject, body=body)
    if template_id:
        template = locks.lock_notification_template(template_id)
    else:
        if NotificationTemplate.objects.filter(event=event, medium=medium, language=language).exists():
            raise ValidationError({"language": _("There is already a template for this event, medium and language.")})
        template = NotificationTemplate(event=event, medium=medium, language=language)
    template.subject = subject if template.medium == NotificationMedium.EMAIL else ""
    template.body = body
    template.active = active
    template.save()
    return template
