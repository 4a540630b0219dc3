"""Customer feedback: the signed link in the delivered message, the public page it opens (no login),
links that are changed or too old, ratings from 1 to 5 given once per delivered order, the ticket a
low rating opens, and satisfaction (CSAT) for the dashboard."""

import importlib
import re
import time
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from aftersales.models import Feedback, Ticket
from aftersales.selectors.tickets import csat
from aftersales.services import feedback
from core.actors import SYSTEM
from orders import services as orders
from orders.models import NotificationTemplate
from orders.notifications import sms
from orders.services import notifications
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_concurrency import race

pytestmark = pytest.mark.django_db

EMAIL = "kunde@example.com"
PHONE = "13812345678"
LINK_MIGRATION = importlib.import_module("aftersales.migrations.0002_feedback_link_in_delivered_messages")
ORDER_0007 = importlib.import_module("orders.migrations.0007_default_message_templates")


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.SMS_BACKEND = "orders.notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def product():
    item = ProductFactory(name="Ceramic teapot")
    stock(item, WarehouseFactory(), 50)
    return item


@pytest.fixture
def delivered(product):
    order = place(
        lines=[(product, 2)], email=EMAIL, language="en", phone=PHONE, recipient="王小明", address="文三路 90 号"
    )
    return advance(order, "delivered")


def page(order):
    return f"/feedback/{feedback.feedback_token(order)}/"


def token_made_days_ago(order, days, monkeypatch):
    then = time.time() - days * 86400
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: then)
        return feedback.feedback_token(order)


def assert_shows_no_order(response, order):
    content = response.content.decode()
    for secret in (order.number, "Ceramic teapot", "王小明", "文三路", PHONE, "5678", 'name="rating"'):
        assert secret not in content, secret


# --- the link and the page ----------------------------------------------------------------------


def test_the_signed_link_opens_the_rating_page_without_login(client, delivered):
    response = client.get(page(delivered))

    assert response.status_code == 200
    content = response.content.decode()
    assert delivered.number in content
    assert "Ceramic teapot × 2" in content
    assert f"{timezone.localtime(delivered.placed_at):%Y-%m-%d}" in content
    assert content.count('type="radio" name="rating"') == 5
    assert 'name="comment"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    for private in ("王小明", "文三路", PHONE, "杭州市"):
        assert private not in content
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_the_link_is_the_public_address_of_the_feedback_page(delivered, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com/"

    assert feedback.feedback_url(delivered) == f"https://shop.example.com{page(delivered)}"


def test_rating_on_the_page_records_it_and_thanks_the_customer(client, delivered):
    response = client.post(page(delivered), {"rating": "5", "comment": "  Lovely teapot  "})

    assert response.status_code == 200
    assert "Thank you!" in response.content.decode()
    given = Feedback.objects.get()
    assert (given.order, given.rating, given.comment, given.ticket) == (delivered, 5, "Lovely teapot", None)


def test_a_second_visit_says_the_order_was_rated_already(client, delivered):
    client.post(page(delivered), {"rating": "4"})

    again = client.get(page(delivered))
    sent_again = client.post(page(delivered), {"rating": "1", "comment": "changed my mind"})

    for response in (again, sent_again):
        assert response.status_code == 200
        assert "rated already" in response.content.decode()
        assert 'name="rating"' not in response.content.decode()
    assert list(Feedback.objects.values_list("rating", flat=True)) == [4]
    assert not Ticket.objects.exists()


def test_the_page_form_is_protected_against_cross_site_posts(delivered):
    response = Client(enforce_csrf_checks=True).post(page(delivered), {"rating": "5"})

    assert response.status_code == 403
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: ":".join([signing.b64_encode(b"99999").decode(), *token.split(":")[1:]]),
        lambda token: signing.dumps(signing.loads(token, salt=feedback.SALT), salt="another purpose"),
        lambda token: "made-up",
    ],
)
def test_a_changed_or_made_up_link_is_refused_with_404_showing_nothing(client, delivered, tamper):
    token = tamper(feedback.feedback_token(delivered))

    for response in (client.get(f"/feedback/{token}/"), client.post(f"/feedback/{token}/", {"rating": "1"})):
        assert response.status_code == 404
        assert "not valid" in response.content.decode()
        assert_shows_no_order(response, delivered)
    assert not Feedback.objects.exists()


def test_a_link_to_an_order_that_does_not_exist_is_refused_with_404(client, delivered):
    token = signing.dumps(delivered.pk + 1000, salt=feedback.SALT)

    response = client.get(f"/feedback/{token}/")

    assert response.status_code == 404
    with pytest.raises(feedback.FeedbackLinkInvalid):
        feedback.order_for_feedback(token)


def test_an_expired_link_says_so_with_400_and_shows_nothing(client, delivered, monkeypatch, settings):
    settings.FEEDBACK_LINK_MAX_AGE_DAYS = 30
    old = token_made_days_ago(delivered, 31, monkeypatch)
    recent = token_made_days_ago(delivered, 29, monkeypatch)

    for response in (client.get(f"/feedback/{old}/"), client.post(f"/feedback/{old}/", {"rating": "5"})):
        assert response.status_code == 400
        assert "expired" in response.content.decode()
        assert_shows_no_order(response, delivered)
    with pytest.raises(feedback.FeedbackLinkExpired):
        feedback.give_feedback(old, rating=5)
    assert not Feedback.objects.exists()
    assert client.get(f"/feedback/{recent}/").status_code == 200


# --- rating -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [0, 6, -1, "x", None, "4.5"])
def test_a_rating_outside_1_to_5_is_refused(delivered, rating):
    with pytest.raises(ValidationError) as refused:
        feedback.give_feedback(feedback.feedback_token(delivered), rating=rating, comment="")

    assert list(refused.value.message_dict) == ["rating"]
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("rating", [1, 5, "3"])
def test_each_rating_from_1_to_5_is_taken(delivered, rating):
    given = feedback.give_feedback(feedback.feedback_token(delivered), rating=rating)

    assert given.rating == int(rating)


def test_the_page_asks_again_when_no_stars_were_chosen(client, delivered):
    response = client.post(page(delivered), {"rating": "", "comment": "no stars"})

    assert response.status_code == 200
    assert "Choose from 1 to 5 stars." in response.content.decode()
    assert "no stars" in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_long_comment_is_refused(delivered):
    with pytest.raises(ValidationError) as refused:
        feedback.give_feedback(
            feedback.feedback_token(delivered), rating=4, comment="x" * (feedback.COMMENT_MAX_LENGTH + 1)
        )

    assert list(refused.value.message_dict) == ["comment"]


def test_an_order_is_rated_once(delivered):
    token = feedback.feedback_token(delivered)
    feedback.give_feedback(token, rating=4)

    with pytest.raises(feedback.FeedbackAlreadyGiven):
        feedback.give_feedback(feedback.feedback_token(delivered), rating=1, comment="Once more")
    assert Feedback.objects.count() == 1


def test_an_order_that_has_not_arrived_is_not_rated_yet(client, product):
    shipped = advance(place(lines=[(product, 1)]), "shipped")

    with pytest.raises(ValidationError, match="not arrived"):
        feedback.give_feedback(feedback.feedback_token(shipped), rating=5)
    response = client.get(page(shipped))

    assert response.status_code == 200
    assert "not arrived yet" in response.content.decode()
    assert 'name="rating"' not in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_completed_order_can_still_be_rated(delivered):
    orders.complete(delivered.pk, actor=SYSTEM)

    assert feedback.give_feedback(feedback.feedback_token(delivered), rating=5).rating == 5


@pytest.mark.parametrize("rating, opens_ticket", [(1, True), (2, True), (3, False), (5, False)])
def test_a_rating_of_2_or_less_opens_a_high_severity_ticket_by_itself(delivered, rating, opens_ticket):
    given = feedback.give_feedback(feedback.feedback_token(delivered), rating=rating, comment="Lid was broken")

    if not opens_ticket:
        assert given.ticket is None
        assert not Ticket.objects.exists()
        return
    ticket = Ticket.objects.get()
    assert given.ticket == ticket
    assert (ticket.source, ticket.severity, ticket.category, ticket.status) == (
        Ticket.Source.FEEDBACK,
        Ticket.Severity.HIGH,
        Ticket.Category.OTHER,
        Ticket.Status.OPEN,
    )
    assert ticket.subject == f"Rating {rating}/5 for order {delivered.number}"
    assert ticket.description == "Lid was broken"
    assert (ticket.order, ticket.customer, ticket.opened_by) == (delivered, delivered.customer, None)
    assert ticket.respond_by == ticket.created_at + timedelta(hours=24)
    assert ticket.events.get().actor is None


def test_the_threshold_for_a_ticket_comes_from_settings(delivered, settings):
    settings.FEEDBACK_TICKET_AT_OR_BELOW = 3

    feedback.give_feedback(feedback.feedback_token(delivered), rating=3)

    assert Ticket.objects.count() == 1


def test_a_low_rating_on_the_page_says_someone_will_get_in_touch(client, delivered):
    response = client.post(page(delivered), {"rating": "1", "comment": "Broken"})

    assert "we will get in touch" in response.content.decode()
    assert Feedback.objects.get().ticket is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_rating_sent_twice_at_once_is_recorded_once(delivered):
    token = feedback.feedback_token(delivered)

    outcomes = race(
        lambda: feedback.give_feedback(token, rating=1, comment="Broken"),
        lambda: feedback.give_feedback(token, rating=1, comment="Broken"),
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Feedback", "FeedbackAlreadyGiven"]
    assert Feedback.objects.count() == 1
    assert Ticket.objects.count() == 1


# --- the link in the delivered message ----------------------------------------------------------


def test_the_delivered_message_carries_the_feedback_link_that_opens_the_page(
    client, product, sms_outbox, settings, django_capture_on_commit_callbacks
):
    order = place(lines=[(product, 1)], email=EMAIL, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        advance(order, "delivered")

    email = next(message for message in mail.outbox if "delivered" in message.subject)
    text = sms_outbox[-1].body
    link = re.search(r"Rate your order: (\S+)", email.body).group(1)
    assert link.startswith(f"{settings.PUBLIC_BASE_URL}/feedback/")
    assert email.body.rstrip().endswith(f"How was it? Rate your order: {link}\n\nOrderCycle")
    assert text.startswith(f"OrderCycle: order {order.number} has been delivered.")
    # Both messages are written from one context, so they carry the same link.
    assert text.endswith(f"Thank you for shopping with us! How was it? Rate your order: {link}")
    response = client.get(link.removeprefix(settings.PUBLIC_BASE_URL))
    assert response.status_code == 200
    assert order.number in response.content.decode()


def test_the_chinese_delivered_text_asks_for_a_rating_in_chinese(
    product, sms_outbox, django_capture_on_commit_callbacks
):
    order = place(lines=[(product, 1)], language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        advance(order, "delivered")

    assert re.search(
        r"感谢您的惠顾！如有问题请随时联系我们。给本次购物打个分：http://\S+/feedback/\S+/$", sms_outbox[-1].body
    )


def test_message_templates_may_use_the_feedback_link(settings):
    assert notifications.sample_context()["feedback_url"].startswith(f"{settings.PUBLIC_BASE_URL}/feedback/")
    notifications.check_template(medium="sms", subject="", body="Rate us: {{ feedback_url }}")


def test_the_link_is_added_to_each_delivered_template_once_and_can_be_taken_out_again():
    delivered = NotificationTemplate.objects.filter(event="delivered").order_by("medium", "language")
    assert [(t.medium, t.language, t.body.count("{{ feedback_url }}")) for t in delivered] == [
        ("email", "en", 1),
        ("email", "zh-hans", 1),
        ("sms", "en", 1),
        ("sms", "zh-hans", 1),
    ]
    schema_editor = SimpleNamespace(connection=connection)
    before = {t.pk: t.body for t in delivered}

    LINK_MIGRATION.add_feedback_link(apps, schema_editor)
    assert {t.pk: t.body for t in delivered.all()} == before

    LINK_MIGRATION.remove_feedback_link(apps, schema_editor)
    assert {(t.event, t.medium, t.language): t.body for t in delivered.all()} == {
        key: body for key, (_subject, body) in ORDER_0007.DEFAULT_TEMPLATES.items() if key[0] == "delivered"
    }


def test_a_template_the_shop_wrote_with_the_link_is_left_alone():
    template = NotificationTemplate.objects.get(event="delivered", medium="sms", language="en")
    template.body = "Delivered! Tell us: {{ feedback_url }}"
    template.save()

    LINK_MIGRATION.add_feedback_link(apps, SimpleNamespace(connection=connection))

    template.refresh_from_db()
    assert template.body == "Delivered! Tell us: {{ feedback_url }}"


# --- satisfaction -------------------------------------------------------------------------------


def rate(order, rating, day):
    given = feedback.give_feedback(feedback.feedback_token(order), rating=rating)
    Feedback.objects.filter(pk=given.pk).update(
        created_at=timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=12)
    )


def test_csat_is_the_share_of_4_and_5_among_the_ratings_of_the_period(product):
    app = ChannelFactory(code="app", name="App")
    day = date(2026, 3, 10)
    ratings = [
        (5, day, None),
        (4, day, None),
        (2, day + timedelta(days=1), None),
        (1, day, app),
        (3, day - timedelta(days=1), None),
        (5, day + timedelta(days=2), None),
    ]
    for customer, (rating, on, channel) in enumerate(ratings):
        # A customer each: many orders to one phone would be held for review.
        order = place(channel, lines=[(product, 1)], phone=f"1390013{customer:04d}")
        rate(advance(order, "delivered"), rating, on)

    satisfaction = csat(day, day + timedelta(days=1))
    assert (satisfaction.count, satisfaction.satisfied) == (4, 2)
    assert satisfaction.share == pytest.approx(0.5)
    assert str(satisfaction.average) == "3.00"

    web_only = csat(day, day + timedelta(days=1), channel=ChannelFactory())
    assert (web_only.count, web_only.satisfied, str(web_only.average)) == (3, 2, "3.67")
    assert csat(day, day, channel=app.pk).count == 1


def test_csat_of_a_period_without_ratings_is_empty_not_zero():
    satisfaction = csat(date(2026, 1, 1), date(2026, 1, 31))

    assert (satisfaction.count, satisfaction.share, satisfaction.average) == (0, None, None)


def test_customer_service_finds_an_orders_rating_by_its_number(client, delivered, product):
    feedback.give_feedback(feedback.feedback_token(delivered), rating=4, comment="Fine")
    other = advance(place(lines=[(product, 1)], phone="13812345679", address="文三路 91 号"), "delivered")
    feedback.give_feedback(feedback.feedback_token(other), rating=5)
    client.force_login(staff("Customer service"))

    found = client.get("/admin/aftersales/feedback/", {"q": delivered.number.lower()})

    assert [row.order_id for row in found.context["cl"].result_list] == [delivered.pk]
