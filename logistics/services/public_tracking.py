"""The public tracking page: a customer finds an order by its number and the last four digits of its
phone, and guessing is slowed down."""

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from orders.models import Order

from ..models import TrackingLookup
from ..selectors import failed_lookup_times, order_for_tracking, phone_of_order

# Guessing the four digits is slowed down twice: per client (one address trying many orders) and
# per order number (many addresses trying one order). Past either limit the page refuses to look
# until enough of the counted failures are older than the window, even for the right digits.
TRACKING_LOOKUP_WINDOW = timedelta(minutes=15)
MAX_FAILED_LOOKUPS_PER_CLIENT = 10
MAX_FAILED_LOOKUPS_PER_ORDER = 5
# Failures older than this are forgotten: they no longer count towards any limit.
TRACKING_LOOKUP_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class TrackingLookupResult:
    order: Order | None = None
    blocked_until: object = None


def _blocked_until(now, *, client, order_number):
    since = now - TRACKING_LOOKUP_WINDOW
    latest = [
        failed_lookup_times(since=since, limit=MAX_FAILED_LOOKUPS_PER_CLIENT, client=client),
        failed_lookup_times(since=since, limit=MAX_FAILED_LOOKUPS_PER_ORDER, order_number=order_number),
    ]
    limits = [MAX_FAILED_LOOKUPS_PER_CLIENT, MAX_FAILED_LOOKUPS_PER_ORDER]
    # A limit frees up when the oldest of its last `limit` failures leaves the window.
    ends = [
        times[-1] + TRACKING_LOOKUP_WINDOW for times, limit in zip(latest, limits, strict=False) if len(times) >= limit
    ]
    return max(ends, default=None)


def look_up_order_for_tracking(*, order_number, phone_suffix, client):
    """A customer on the public tracking page asks for an order by its number and the last four
    digits of its phone. No order and wrong digits are one answer (an empty result) and both count
    as a failed attempt; too many failures refuse the lookup for a while (`blocked_until`).
    Customers have no account, so there is no actor: the client (an IP address) is who asks."""
    now = timezone.now()
    order_number = (order_number or "").strip().upper()[: TrackingLookup._meta.get_field("order_number").max_length]
    client = (client or "")[: TrackingLookup._meta.get_field("client").max_length]
    blocked_until = _blocked_until(now, client=client, order_number=order_number)
    if blocked_until is not None:
        return TrackingLookupResult(blocked_until=blocked_until)
    order_id, phone = phone_of_order(order_number) or (None, "")
    suffix = "".join(ch for ch in unicodedata.normalize("NFKC", phone_suffix or "") if ch.isdigit())
    # The same work whether or not the order exists, so neither the answer nor its timing tells a
    # missing order from a wrong guess.
    if len(suffix) == 4 and hmac.compare_digest(phone[-4:], suffix) and order_id is not None:
        return TrackingLookupResult(order=order_for_tracking(order_id))
    _record_failed_lookup(now, client=client, order_number=order_number)
    return TrackingLookupResult()


@transaction.atomic
def _record_failed_lookup(now, *, client, order_number):
    TrackingLookup.objects.filter(created_at__lt=now - TRACKING_LOOKUP_MEMORY).delete()
    TrackingLookup.objects.create(client=client, order_number=order_number, created_at=now)
