"""Text messages to customers go through the backend named by `settings.SMS_BACKEND`, the way
email goes through `EMAIL_BACKEND`: a provider's backend is a class with `send_messages`."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

from core.privacy import mask_name

from ..services.phones import mask_phone


@dataclass(frozen=True)
class SMSMessage:
    """`personal` holds what of the customer the body may quote (their name, street): a backend
    that writes messages where staff read them masks it (docs/architecture.md, "Personal data")."""

    to: str
    body: str
    personal: tuple[str, ...] = field(default=(), repr=False)


class BaseSMSBackend:
    """Send a list of messages; return how many were sent, or raise when the provider refuses."""

    def __init__(self, **options):
        self.options = options

    def send_messages(self, messages):
        raise NotImplementedError("An SMS backend sends messages in send_messages().")


class LogSMSBackend(BaseSMSBackend):
    """Writes each text to the `orders.sms` logger instead of sending it, for development and for
    shops without an SMS provider. The number and what the text quotes of the customer are masked:
    logs are read more widely than orders."""

    logger = logging.getLogger("orders.sms")

    def send_messages(self, messages):
        for message in messages:
            self.logger.info("SMS to %s: %s", mask_phone(message.to), masked_body(message))
        return len(messages)


def masked_body(message):
    body = message.body
    # Longest first, so a street that contains the name is masked whole.
    for value in sorted((value for value in message.personal if value), key=len, reverse=True):
        body = body.replace(value, mask_name(value))
    return body


outbox = []


class LocmemSMSBackend(BaseSMSBackend):
    """Keeps the messages in `orders.notifications.sms.outbox`, for tests (like Django's locmem email)."""

    def send_messages(self, messages):
        outbox.extend(messages)
        return len(messages)


def get_sms_backend(**options):
    return import_string(settings.SMS_BACKEND)(**options)


def send_sms(to, body, personal=()):
    return get_sms_backend().send_messages([SMSMessage(to=to, body=body, personal=tuple(personal))])
