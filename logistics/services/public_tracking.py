"""The public tracking page: a customer finds an order by its number and the last four digits of its
phone, and guessing is slowed down."""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from orders.models import Order
from orders.services.phones import normalize_phone

from ..models import TrackingLookup
from ..selectors import failed_lookup_count, failed_lookup_times, order_for_tracking, phone_of_order

# Guessing is slowed down per client (one address trying many orders) and per client and order (one
# address trying one order); past either limit the page refuses that client until enough of its
# counted failures are older than the window, even for the right digits. There is no limit per order
# alone: failures from other addresses would lock the real customer out of their own order. An order
# guessed at from many addresses asks everyone for the whole phone number instead, which the customer
# knows and which is far too many digits to guess. docs/architecture.md, "Sign-in and security".
TRACKING_LOOKUP_WINDOW = timedelta(minutes=15)
MAX_FAILED_LOOKUPS_PER_CLIENT = 10
MAX_FAILED_LOOKUPS_PER_CLIENT_AND_ORDER = 5
WHOLE_PHONE_AFTER_FAILED_LOOKUPS = 5
# Failures older than this are forgotten: they no longer count towards any limit (the longest
# window above), so they are deleted, with the client's address they hold.
TRACKING_LOOKUP_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class TrackingLookupResult:
    order: Order | None = None
    blocked_until: object = None
    # The order number was guessed at too often: only the whole phone number is taken now.
    needs_whole_phone: bool = False


def _blocked_until(now, *, client, order_number):
    since = now - TRACKING_LOOKUP_WINDOW
    limits = [MAX_FAILED_LOOKUPS_PER_CLIENT, MAX_FAILED_LOOKUPS_PER_CLIENT_AND_ORDER]
    latest = [
        failed_lookup_times(since=since, limit=limits[0], client=client),
        failed_lookup_times(since=since, limit=limits[1], client=client, order_number=order_number),
    ]
    # A limit frees up when the oldest of its last `limit` failures leaves the window.
    ends = [
        times[-1] + TRACKING_LOOKUP_WINDOW for times, limit in zip(latest, limits, strict=True) if len(times) >= limit
    ]
    return max(ends, default=None)


def _matches(stored_phone, *, phone_suffix, phone_whole):
    if phone_whole:
        given, _valid = normalize_phone(phone_whole)
        return bool(stored_phone) and hmac.compare_digest(stored_phone.encode(), given.encode())
    suffix = "".join(ch for ch in unicodedata.normalize("NFKC", phone_suffix or "") if ch.isdigit())
    return len(suffix) == 4 and hmac.compare_digest(stored_phone[-4:].encode(), suffix.encode())


def look_up_order_for_tracking(
    *, order_number: str, phone_suffix: str = "", client: str, phone_whole: str = ""
) -> TrackingLookupResult:
    """A customer on the public tracking page asks for an order by its number and the last four
    digits of its phone (or the whole phone number, which the page asks for once the order number
    has been guessed at too often). No order and wrong digits are one answer (an empty result) and
    both count as a failed attempt; too many failures from one client refuse that client for a
    while (`blocked_until`). Customers have no account, so there is no actor: the client (an IP
    address) is who asks."""
    now = timezone.now()
    order_number = (order_number or "").strip().upper()[: TrackingLookup._meta.get_field("order_number").max_length]
    client = (client or "")[: TrackingLookup._meta.get_field("client").max_length]
    blocked_until = _blocked_until(now, client=client, order_number=order_number)
    if blocked_until is not None:
        return TrackingLookupResult(blocked_until=blocked_until)
    if not phone_whole and failed_lookup_count(since=now - TRACKING_LOOKUP_MEMORY, order_number=order_number) >= (
        WHOLE_PHONE_AFTER_FAILED_LOOKUPS
    ):
        return TrackingLookupResult(needs_whole_phone=True)
    order_id, phone = phone_of_order(order_number) or (None, "")
    # The same work whether or not the order exists, so neither the answer nor its timing tells a
    # missing order from a wrong guess.
    if _matches(phone, phone_suffix=phone_suffix, phone_whole=phone_whole) and order_id is not None:
        return TrackingLookupResult(order=order_for_tracking(order_id))
    _record_failed_lookup(now, client=client, order_number=order_number)
    return TrackingLookupResult()


@transaction.atomic
def _record_failed_lookup(now, *, client, order_number):
    TrackingLookup.objects.filter(created_at__lt=now - TRACKING_LOOKUP_MEMORY).delete()
    TrackingLookup.objects.create(client=client, order_number=order_number, created_at=now)


def forget_old_lookups(*, now: datetime) -> list[str]:
    """Delete the failed lookups older than TRACKING_LOOKUP_MEMORY, which no limit counts any more:
    each holds a client's address. A failed lookup deletes them too, but a quiet page would keep
    them; the daily retention run asks for this through core.personal_data_expired
    (docs/architecture.md, "Sign-in and security")."""
    deleted, _by_model = TrackingLookup.objects.filter(created_at__lt=now - TRACKING_LOOKUP_MEMORY).delete()
    return [
        ngettext(
            "%(count)s failed tracking lookup older than a day deleted.",
            "%(count)s failed tracking lookups older than a day deleted.",
            deleted,
        )
        % {"count": deleted}
    ]
