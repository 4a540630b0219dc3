"""The HTTP side of Idempotency-Key: reading the header and recognising a repeated request. Keeping
and replaying answers is `orders.services.respond_once`."""

import hashlib
import json

from django.utils.translation import gettext as _

from .problems import invalid_request

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def idempotency_key(request):
    """The request's Idempotency-Key, None without one; a key that cannot be stored is refused."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid_request([{
            "header": HEADER,
            "detail": _("Use 1 to %(max)d printable characters, such as a UUID.") % {"max": MAX_KEY_LENGTH},
        }])
    return key


def request_fingerprint(request):
    """The same for the same method, path and JSON body, whatever the order of its members."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
