"""Customer notifications: what each step of an order tells its customer, in which language and by
which medium; sending from the background task with retries; the log, resending, and the message
templates edited in the console."""

import time
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from orders import services as orders
from orders.models import (
    BlockedContact,
    Notification,
    NotificationEvent,
    NotificationMedium,
    NotificationTemplate,
    Order,
)
from orders.notifications import sms
from orders.notifications.sms import BaseSMSBackend
from orders.services import notifications
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_concurrency import race

pytestmark = pytest.mark.django_db

Event = NotificationEvent
Medium = NotificationMedium
Status = Notification.Status
EMAIL = "kunde@example.com"


class FailingSMSBackend(BaseSMSBackend):
    def send_messages(self, messages):
        raise ConnectionError("SMS gateway unreachable")


class FlakySMSBackend(BaseSMSBackend):
    """Fails the first time it is used, then sends."""

    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls == 1:
            raise TimeoutError("SMS gateway timed out")
        return sms.LocmemSMSBackend().send_messages(messages)


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise OSError("mail server refused the connection")


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "orders.notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    FlakySMSBackend.calls = 0
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 20)
    return item


@pytest.fixture
def sending(django_capture_on_commit_callbacks):
    """Run what is queued for after commit (the test itself never commits), tasks included."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def log_of(order):
    return Notification.objects.filter(order=order).order_by("id")


# --- what customers are told ---------------------------------------------------------------------


def test_a_confirmed_order_sends_email_and_sms_in_the_orders_language(product, sending, sms_outbox):
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL, language="en")

    assert order.status == Order.Status.CONFIRMED
    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert email.subject == f"Your order {order.number} is confirmed"
    assert "Follow your order at http://" in email.body
    assert f"/track/?order={order.number}" in email.body
    [text] = sms_outbox
    assert text.to == "+8613800138000"
    assert text.body.startswith("OrderCycle: order ")
    assert [(n.event, n.medium, n.language, n.status, n.attempts) for n in log_of(order)] == [
        (Event.ORDER_CONFIRMED, Medium.EMAIL, "en", Status.SENT, 1),
        (Event.ORDER_CONFIRMED, Medium.SMS, "en", Status.SENT, 1),
    ]
    assert all(n.sent_at is not None for n in log_of(order))


def test_an_order_without_a_language_is_written_to_in_the_shops_customer_language(
    product, sending, sms_outbox, settings
):
    settings.CUSTOMER_LANGUAGE = "zh-hans"
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL)

    assert mail.outbox[0].subject == f"您的订单 {order.number} 已确认"
    assert sms_outbox[0].body == f"【OrderCycle】您的订单{order.number}已确认，发货后我们会短信通知您。"
    assert set(log_of(order).values_list("language", flat=True)) == {"zh-hans"}


def test_a_language_without_an_active_template_falls_back_to_english(product, sending, sms_outbox):
    NotificationTemplate.objects.filter(event=Event.ORDER_CONFIRMED, medium=Medium.SMS, language="zh-hans").update(
        active=False
    )
    with sending():
        order = place(lines=[(product, 1)], language="zh-hans")

    [text] = sms_outbox
    assert text.body.startswith("OrderCycle: order ")
    assert log_of(order).get().language == "en"


def test_a_customer_without_an_email_address_gets_only_the_sms(product, sending, sms_outbox):
    with sending():
        order = place(lines=[(product, 1)])

    assert mail.outbox == []
    assert len(sms_outbox) == 1
    assert list(log_of(order).values_list("medium", flat=True)) == [Medium.SMS]


def test_an_order_held_for_an_incomplete_address_asks_the_customer_for_it(product, sending, sms_outbox):
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL, language="en", address="")

    assert order.status == Order.Status.ON_HOLD
    [email] = mail.outbox
    assert email.subject == f"We need a few details for order {order.number}"
    assert "Your delivery address is incomplete" in email.body
    assert "payment" not in email.body
    assert "(delivery address incomplete)" in sms_outbox[0].body
    assert set(log_of(order).values_list("event", flat=True)) == {Event.ORDER_HELD}


def test_an_order_held_for_a_payment_that_does_not_match_tells_the_customer(product, sending):
    with sending():
        order = place(
            lines=[(product, 2)], email=EMAIL, language="en", payment_method="card", paid_amount=Decimal("20.00")
        )

    assert order.status == Order.Status.ON_HOLD
    assert "does not match the order total (CNY 50.00)" in mail.outbox[0].body


def test_an_order_held_for_an_unreadable_phone_asks_by_email_only(product, sending, sms_outbox):
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL, language="en", phone="23800138000")

    assert {r["code"] for r in order.hold_reasons} == {"phone_invalid"}
    [email] = mail.outbox
    assert "We could not read your phone number" in email.body
    assert sms_outbox == []


def test_an_order_held_for_risk_tells_the_customer_nothing(sending, sms_outbox):
    expensive = ProductFactory(unit_price=Decimal("2500.00"))
    stock(expensive, WarehouseFactory(), 5)
    with sending():
        order = place(lines=[(expensive, 3)], email=EMAIL)

    assert order.status == Order.Status.ON_HOLD
    assert {r["code"] for r in order.hold_reasons} == {"high_value", "new_customer_high_value", "cod_over_limit"}
    assert mail.outbox == [] and sms_outbox == []
    assert not log_of(order).exists()


def test_a_blocklisted_contact_is_not_told_even_when_its_address_is_incomplete(product, sending, sms_outbox):
    BlockedContact.objects.create(kind=BlockedContact.Kind.PHONE, value="+8613800138000", reason="chargebacks")
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL, address="")

    assert {r["code"] for r in order.hold_reasons} >= {"address_incomplete", "blocked_phone"}
    assert mail.outbox == [] and sms_outbox == []


def test_approving_a_held_order_tells_the_customer_it_is_confirmed(product, sending):
    reviewer = staff("Order reviewer")
    order = place(lines=[(product, 1)], email=EMAIL, language="en", address="")
    orders.update_delivery_address(order.pk, actor=reviewer, address="文三路 90 号")
    with sending():
        orders.approve(order.pk, actor=reviewer)

    assert [m.subject for m in mail.outbox] == [f"Your order {order.number} is confirmed"]


def test_cancelling_an_order_tells_the_customer_and_mentions_the_refund(product, sending, sms_outbox):
    order = place(lines=[(product, 2)], email=EMAIL, language="en", payment_method="card", paid_amount=Decimal("50.00"))
    with sending():
        orders.cancel(order.pk, actor=staff("Customer service"), reason="customer changed their mind")

    [email] = mail.outbox
    assert email.subject == f"Order {order.number} has been cancelled"
    assert "We will refund the CNY 50.00 you paid" in email.body
    assert "customer changed their mind" not in email.body
    assert "has been cancelled" in sms_outbox[0].body
    cancelled = log_of(order).filter(event=Event.ORDER_CANCELLED)
    assert [(n.medium, n.status) for n in cancelled] == [(Medium.EMAIL, Status.SENT), (Medium.SMS, Status.SENT)]


def test_rejecting_a_held_order_tells_the_customer_it_is_cancelled(product, sending):
    order = place(lines=[(product, 1)], email=EMAIL, language="zh-hans", address="")
    with sending():
        orders.reject(order.pk, actor=staff("Order reviewer"), reason="address never came")

    assert [m.subject for m in mail.outbox] == [f"您的订单 {order.number} 已取消"]


def test_a_shipped_message_carries_the_carrier_tracking_link(product, sending, sms_outbox):
    order = place(lines=[(product, 1)], language="en")
    carrier = type("Carrier", (), {"__str__": lambda self: "SF Express"})()
    shipment = type(
        "Shipment",
        (),
        {
            "carrier": carrier,
            "tracking_number": "SF0000000001",
            "tracking_url": "https://www.sf-express.com/track?no=SF0000000001",
            "expected_delivery_on": None,
        },
    )()
    with sending():
        notifications.notify(order, Event.ORDER_SHIPPED, shipment=shipment)

    assert sms_outbox[0].body == (
        f"OrderCycle: order {order.number} has shipped with SF Express, tracking no. SF0000000001. "
        "Track it: https://www.sf-express.com/track?no=SF0000000001"
    )


def test_shipping_and_delivering_through_logistics_tells_the_customer_each_step(product, sending, sms_outbox):
    order = place(lines=[(product, 1)], language="en")
    with sending():
        advance(order, "delivered")

    [shipment] = order.shipments.all()
    told = list(log_of(order).exclude(event=Event.ORDER_CONFIRMED).values_list("event", flat=True))
    assert told == [Event.ORDER_SHIPPED, Event.DELIVERED]
    assert sms_outbox[0].body.endswith(f"Track it: https://www.sf-express.com/track?no={shipment.tracking_number}")
    delivered_text = f"OrderCycle: order {order.number} has been delivered. Thank you for shopping with us!"
    assert sms_outbox[1].body.startswith(delivered_text)
    assert "/feedback/" in sms_outbox[1].body


def test_a_change_that_is_rolled_back_sends_nothing(product, sending, sms_outbox):
    class Abandoned(Exception):
        pass

    with sending(), pytest.raises(Abandoned), transaction.atomic():
        place(lines=[(product, 1)], email=EMAIL)
        assert Notification.objects.count() == 2
        raise Abandoned

    assert mail.outbox == [] and sms_outbox == []
    assert Notification.objects.count() == 0


# --- sending, retrying, giving up ------------------------------------------------------------------


def test_a_failing_sms_backend_is_retried_and_ends_failed_with_its_error(product, sending, settings, caplog):
    settings.SMS_BACKEND = "tests.test_notifications.FailingSMSBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL)

    text = log_of(order).get(medium=Medium.SMS)
    assert (text.status, text.attempts) == (Status.FAILED, 3)
    assert text.last_error == "ConnectionError: SMS gateway unreachable"
    assert text.sent_at is None
    retries = [r for r in caplog.records if r.name == "orders.services.notifications" and "trying again" in r.message]
    assert len(retries) == 2
    assert any("failed for good after 3 attempts" in r.message for r in caplog.records)
    email = log_of(order).get(medium=Medium.EMAIL)
    assert (email.status, email.attempts) == (Status.SENT, 1)


def test_a_message_that_fails_once_is_sent_on_the_next_attempt(product, sending, settings, sms_outbox):
    settings.SMS_BACKEND = "tests.test_notifications.FlakySMSBackend"
    with sending():
        order = place(lines=[(product, 1)])

    text = log_of(order).get()
    assert (text.status, text.attempts) == (Status.SENT, 2)
    assert text.last_error == "TimeoutError: SMS gateway timed out"
    assert len(sms_outbox) == 1


def test_a_failing_email_backend_is_retried_too(product, sending, settings):
    settings.EMAIL_BACKEND = "tests.test_notifications.FailingEmailBackend"
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL)

    email = log_of(order).get(medium=Medium.EMAIL)
    assert (email.status, email.attempts, email.last_error) == (
        Status.FAILED,
        2,
        "OSError: mail server refused the connection",
    )


def test_with_the_database_queue_each_retry_waits_longer(product, sending, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.SMS_BACKEND = "tests.test_notifications.FailingSMSBackend"
    with sending():
        order = place(lines=[(product, 1)])
    text = log_of(order).get()
    queued = DBTaskResult.objects.filter(task_path="orders.tasks.notifications.send_notification")
    assert [row.args_kwargs["args"] for row in queued] == [[text.pk]]
    assert text.status == Status.QUEUED

    waits = []
    for _attempt in range(2):
        started = timezone.now()
        with sending():
            notifications.send_notification(text.pk)
        latest = queued.order_by("-enqueued_at", "-run_after").first()
        waits.append(latest.run_after - started)
    text.refresh_from_db()

    assert (text.status, text.attempts) == (Status.RETRYING, 2)
    assert timedelta(minutes=1) <= waits[0] < timedelta(minutes=2)
    assert timedelta(minutes=5) <= waits[1] < timedelta(minutes=6)


def test_sending_a_message_twice_sends_it_once(product, sending, sms_outbox):
    with sending():
        order = place(lines=[(product, 1)])
    text = log_of(order).get()

    again = notifications.send_notification(text.pk)

    assert (again.status, again.attempts) == (Status.SENT, 1)
    assert len(sms_outbox) == 1


class SlowSMSBackend(BaseSMSBackend):
    """Takes its time, so a second worker arrives while the first is still sending."""

    def send_messages(self, messages):
        time.sleep(0.3)
        return sms.LocmemSMSBackend().send_messages(messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_message_at_once_send_it_once(product, settings, sms_outbox):
    settings.SMS_BACKEND = "tests.test_notifications.SlowSMSBackend"
    order = place(lines=[(product, 1)])
    text = Notification.objects.create(
        order=order,
        event=Event.ORDER_CONFIRMED,
        medium=Medium.SMS,
        recipient=order.phone,
        language="en",
        body="Your order is confirmed.",
    )
    sms_outbox.clear()  # placing the order committed, so its own confirmation has gone out already

    outcomes = race(
        partial(notifications.send_notification, text.pk), partial(notifications.send_notification, text.pk)
    )

    assert [(n.status, n.attempts) for n in outcomes] == [(Status.SENT, 1), (Status.SENT, 1)]
    assert [m.body for m in sms_outbox] == ["Your order is confirmed."]


def test_a_broken_template_is_logged_as_failed_and_does_not_stop_the_order(product, sending, sms_outbox):
    NotificationTemplate.objects.filter(event=Event.ORDER_CONFIRMED, medium=Medium.SMS).update(body="{% if %}")
    with sending():
        order = place(lines=[(product, 1)])

    assert order.status == Order.Status.CONFIRMED
    text = log_of(order).get()
    assert text.status == Status.FAILED
    assert "could not be filled in" in text.last_error
    assert sms_outbox == []


# --- resending ---------------------------------------------------------------------------------------


def test_resending_creates_a_new_log_entry_with_the_same_text(product, sending, sms_outbox):
    service = staff("Customer service")
    with sending():
        order = place(lines=[(product, 1)], language="en")
    original = log_of(order).get()
    NotificationTemplate.objects.filter(event=Event.ORDER_CONFIRMED, medium=Medium.SMS).update(body="changed since")

    with sending():
        copy = notifications.resend(original.pk, actor=service)

    copy.refresh_from_db()
    assert copy.pk != original.pk
    assert (copy.resend_of, copy.requested_by, copy.status) == (original, service, Status.SENT)
    assert (copy.recipient, copy.body) == (original.recipient, original.body)
    assert [m.body for m in sms_outbox] == [original.body, original.body]


def test_resending_needs_the_permission(product, sending):
    with sending():
        order = place(lines=[(product, 1)])
    original = log_of(order).get()

    with pytest.raises(PermissionDenied):
        notifications.resend(original.pk, actor=staff("Warehouse operator"))
    assert log_of(order).count() == 1


def test_the_resend_button_queues_the_message_again_for_customer_service(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)])
    original = log_of(order).get()
    client.force_login(staff("Customer service"))

    with sending():
        response = client.post(reverse("admin:orders_notification_resend", args=[original.pk]))

    copy = log_of(order).last()
    assert copy.resend_of == original
    assert response.status_code == 302
    assert response.url == reverse("admin:orders_notification_change", args=[copy.pk])


def test_the_resend_button_refuses_staff_without_the_permission(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)])
    original = log_of(order).get()
    user = staff("Finance")
    user.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(User.objects.get(pk=user.pk))

    response = client.post(reverse("admin:orders_notification_resend", args=[original.pk]), follow=True)

    assert "may not resend" in response.content.decode()
    assert log_of(order).count() == 1


# --- the console -----------------------------------------------------------------------------------


def template_form(template, **changes):
    data = {"subject": template.subject, "body": template.body, "active": "on" if template.active else ""}
    data.update(changes)
    return data


def test_the_template_editor_refuses_broken_template_syntax(client):
    client.force_login(staff("Manager"))
    template = NotificationTemplate.objects.get(event=Event.DELIVERED, medium=Medium.EMAIL, language="en")
    before = template.body

    response = client.post(
        reverse("admin:orders_notificationtemplate_change", args=[template.pk]),
        template_form(template, body="Hello {% if order.number %}unfinished"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "body" in errors and "The template has a mistake" in errors["body"][0]
    template.refresh_from_db()
    assert template.body == before


def test_the_template_editor_saves_a_template_that_renders(client):
    client.force_login(staff("Manager"))
    template = NotificationTemplate.objects.get(event=Event.DELIVERED, medium=Medium.SMS, language="en")

    response = client.post(
        reverse("admin:orders_notificationtemplate_change", args=[template.pk]),
        template_form(template, body="{{ shop_name }}: {{ order.number }} delivered."),
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body == "{{ shop_name }}: {{ order.number }} delivered."


def test_an_email_template_needs_a_subject(client):
    client.force_login(staff("Manager"))
    template = NotificationTemplate.objects.get(event=Event.DELIVERED, medium=Medium.EMAIL, language="en")

    response = client.post(
        reverse("admin:orders_notificationtemplate_change", args=[template.pk]),
        template_form(template, subject=""),
    )

    assert response.context["adminform"].form.errors["subject"] == ["An email needs a subject."]


def test_default_templates_exist_for_every_event_medium_and_language(settings):
    expected = {
        (event, medium, language)
        for event in Event.values
        for medium in Medium.values
        for language, _name in settings.LANGUAGES
    }
    templates = NotificationTemplate.objects.filter(active=True)
    assert set(templates.values_list("event", "medium", "language")) == expected
    assert all(t.subject for t in templates if t.medium == Medium.EMAIL)
    for template in templates:
        notifications.check_template(medium=template.medium, subject=template.subject, body=template.body)


def test_the_log_masks_phone_numbers_for_staff_who_may_not_see_them(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)])
    viewer = User.objects.create_user("log_reader", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)

    listing = client.get(reverse("admin:orders_notification_changelist")).content.decode()
    found_by_phone = client.get(reverse("admin:orders_notification_changelist"), {"q": "13800138000"})

    assert "+86 138****8000" in listing and "8613800138000" not in listing
    assert order.number in listing
    assert found_by_phone.context["cl"].result_count == 0


def test_customer_service_finds_messages_by_order_number_and_phone(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL)
    client.force_login(staff("Customer service"))
    changelist = reverse("admin:orders_notification_changelist")

    by_number = client.get(changelist, {"q": order.number.lower()})
    by_phone = client.get(changelist, {"q": "138 0013 8000"})
    by_email = client.get(changelist, {"q": EMAIL.upper()})

    assert by_number.context["cl"].result_count == 2
    assert [n.medium for n in by_phone.context["cl"].result_list] == [Medium.SMS]
    assert [n.medium for n in by_email.context["cl"].result_list] == [Medium.EMAIL]
    assert "+86 138 0013 8000" in by_phone.content.decode()


def test_the_order_page_lists_its_messages_for_customer_service_only(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)], email=EMAIL)
    page = reverse("admin:orders_order_change", args=[order.pk])

    client.force_login(staff("Customer service"))
    shown = client.get(page).content.decode()
    client.force_login(staff("Warehouse operator"))
    hidden = client.get(page).content.decode()

    assert "Messages to the customer" in shown and EMAIL in shown
    assert reverse("admin:orders_notification_resend", args=[log_of(order).first().pk]) in shown
    assert "Messages to the customer" not in hidden


def test_a_log_entry_shows_the_message_and_offers_resend_to_customer_service_only(client, product, sending):
    with sending():
        order = place(lines=[(product, 1)], language="en")
    text = log_of(order).get()
    entry = reverse("admin:orders_notification_change", args=[text.pk])
    resend_url = reverse("admin:orders_notification_resend", args=[text.pk])

    client.force_login(staff("Customer service"))
    page = client.get(entry).content.decode()
    client.force_login(staff("Manager"))
    template_list = client.get(reverse("admin:orders_notificationtemplate_changelist"))
    client.force_login(staff("Warehouse operator"))
    refused = client.get(entry)

    assert text.body in page and "+86 138 0013 8000" in page and resend_url in page
    assert template_list.status_code == 200
    assert refused.status_code == 403
