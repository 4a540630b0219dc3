"""Ship-by deadlines (docs/architecture.md, "Ship-by deadlines"): when an order must leave the
warehouse, from its channel's `dispatch_within_hours` and `dispatch_cutoff_hour`.

The clock starts when intake takes the order in (`received_at`), or, for an order that waited for its
payment, when the payment that lets it move on is recorded: a marketplace counts from payment, and
the shop cannot pack what it has not been paid for. With a cut-off hour, an order whose clock starts
at that hour of the shop's local day or later (settings.TIME_ZONE, whatever the reader's zone) counts
from midnight at the start of the next local day; one that starts before it counts from that moment.
The deadline is then that many hours later, as elapsed time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from ..models import Channel


def dispatch_due(channel: Channel, start: datetime) -> datetime | None:
    """When an order of `channel` whose clock starts at `start` must be dispatched; None when the
    channel has no deadline. Reads nothing from the database: intake calls it for every order of a
    batch with the channel it already holds."""
    if channel.dispatch_within_hours is None:
        return None
    shop_zone = timezone.get_default_timezone()
    local = start.astimezone(shop_zone)
    if channel.dispatch_cutoff_hour is not None and local.hour >= channel.dispatch_cutoff_hour:
        start = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=shop_zone)
    # Added in UTC: across a change of clocks "48 hours" stays 48 hours, not 48 hours of wall time.
    return start.astimezone(UTC) + timedelta(hours=channel.dispatch_within_hours)
