"""The HTTP side of Idempotency-Key: reading the header, recognising a repeated request and
answering it. Keeping and replaying answers is `orders.services.respond_once`."""

import hashlib
import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter

from .. import services
from .problems import Problem, invalid_request

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# How the schema documents the header on every POST that honours it.
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
    },
    OpenApiParameter.HEADER,
    description=gettext_lazy(
        "Makes retries safe: a request repeated with the same key and body gets the first answer "
        "again (with the header Idempotent-Replayed: true); the same key with another body is refused (422)."
    ),
)


def idempotency_key(request):
    """The request's Idempotency-Key, None without one; a key that cannot be stored is refused."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid_request(
            [
                {
                    "header": HEADER,
                    "detail": _("Use 1 to %(max)d printable characters, such as a UUID.") % {"max": MAX_KEY_LENGTH},
                }
            ]
        )
    return key


def request_fingerprint(request):
    """The same for the same method, path and JSON body, whatever the order of its members."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def answer_once(request, channel, respond):
    """(status, body, headers) of `respond()`, which returns (status, body); when the request carries
    an Idempotency-Key used before, the first answer again. The same key with another body is refused."""
    key = idempotency_key(request)
    if key is None:
        return (*respond(), {})
    try:
        kept = services.respond_once(channel, key, request_fingerprint(request), respond)
    except services.IdempotencyKeyReused:
        raise Problem(
            422,
            "idempotency_key_reused",
            _("This Idempotency-Key was used before for a request with another body; use a new key for a new request."),
        ) from None
    return kept.status_code, kept.body, {"Idempotent-Replayed": "true"} if kept.replayed else {}
