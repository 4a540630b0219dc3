"""Customer feedback. After delivery the customer gets a signed link (no account, no login) to rate
the order from 1 to 5 with a comment, once; a low rating opens a complaint ticket by itself, so
someone calls the customer back."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.actors import SYSTEM
from orders import locks as order_locks
from orders.models import Order

from ..models import Feedback, Ticket
from .tickets import open_ticket

# Signatures made for feedback links are good for nothing else, and other signatures not for these.
SALT = "aftersales.feedback-link"
RATINGS = range(1, 6)
COMMENT_MAX_LENGTH = 2000
RATEABLE = [Order.Status.DELIVERED, Order.Status.COMPLETED]


class FeedbackLinkRefused(Exception):
    """A feedback link that leads to no order."""


class FeedbackLinkExpired(FeedbackLinkRefused):
    """A genuine link, older than settings.FEEDBACK_LINK_MAX_AGE_DAYS."""


class FeedbackLinkInvalid(FeedbackLinkRefused):
    """A link that was not made here, was changed, or names an order that does not exist."""


class FeedbackAlreadyGiven(Exception):
    """The order has been rated already."""


def feedback_token(order: Order) -> str:
    """The signed part of the link: the order's id and when the link was made."""
    return signing.dumps(order.pk, salt=SALT)


def feedback_url(order: Order) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('feedback', args=[feedback_token(order)])}"


def message_context(order: Order) -> dict[str, str]:
    """What customer messages may use (orders.events.MESSAGE_CONTEXT): {{ feedback_url }}, the
    order's feedback page, which the delivered message links to (migration 0002)."""
    return {"feedback_url": feedback_url(order)}


def order_for_feedback(token: str) -> Order:
    """The order a link is for; FeedbackLinkExpired or FeedbackLinkInvalid when there is none."""
    max_age = timedelta(days=settings.FEEDBACK_LINK_MAX_AGE_DAYS)
    try:
        order_id = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise FeedbackLinkExpired from None
    except signing.BadSignature:
        raise FeedbackLinkInvalid from None
    order = Order.objects.filter(pk=order_id).first() if isinstance(order_id, int) else None
    if order is None:
        raise FeedbackLinkInvalid
    return order


def _valid_rating(rating):
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = None
    if rating not in RATINGS:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5 stars.")})
    return rating


@transaction.atomic
def give_feedback(token: str, *, rating: int | str, comment: str = "") -> Feedback:
    """Record the customer's rating of the order a link is for, once per order and only once the
    order has arrived. A rating at or below settings.FEEDBACK_TICKET_AT_OR_BELOW opens a complaint
    ticket (high severity) with the comment as what the customer says."""
    order_id = order_for_feedback(token).pk
    rating = _valid_rating(rating)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"comment": _("Please keep the comment under %(count)s characters.") % {"count": COMMENT_MAX_LENGTH}}
        )
    # The order row is the lock that keeps a double-sent form from rating the order twice.
    order = order_locks.lock_order(order_id)
    if Feedback.objects.filter(order=order).exists():
        raise FeedbackAlreadyGiven
    if order.status not in RATEABLE:
        raise ValidationError(_("This order has not arrived yet. Please rate it once you have received it."))
    ticket = None
    if rating <= settings.FEEDBACK_TICKET_AT_OR_BELOW:
        # The ticket is staff's work, so it is written in the shop's language, not the customer's.
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Rating %(rating)s/5 for order %(number)s") % {"rating": rating, "number": order.number}
        ticket = open_ticket(
            subject=subject,
            category=Ticket.Category.OTHER,
            severity=Ticket.Severity.HIGH,
            actor=SYSTEM,
            description=comment,
            order_id=order.pk,
            source=Ticket.Source.FEEDBACK,
        )
    return Feedback.objects.create(
        order=order, channel_id=order.channel_id, rating=rating, comment=comment, ticket=ticket
    )
