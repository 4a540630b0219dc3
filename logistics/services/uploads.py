"""Uploads applied as a whole or not at all: dispatch by a sheet of tracking numbers, tracking
events from a carrier's file."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Logistics, Orders, require
from core.transitions import TransitionRefused
from orders.models import Order

from .. import locks
from ..models import Shipment, TrackingEvent
from ..selectors import plan_dispatch_upload, plan_event_upload
from .dispatch import dispatch
from .tracking import record_tracking_event


class UploadRefused(ValidationError):
    """An upload that is applied as a whole or not at all, refused with its problems as
    (row, column key, message): the row as Excel numbers it, the column of the upload's layout."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
        super().__init__(
            [
                _("Row %(row)s: %(problem)s") % {"row": row, "problem": message}
                for row, _column, message in self.problems
            ]
        )


def _problems(planned):
    return [(row.row, column, message) for row in planned for column, message in row.errors.items()]


def _refusal_of(row, error, column):
    """A service's refusal of one upload row, on the column its field belongs to."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return UploadRefused(
            [
                (row.row, field if field in row.values else column, " ".join(messages))
                for field, messages in error.message_dict.items()
            ]
        )
    messages = error.messages if isinstance(error, ValidationError) else [str(error)]
    return UploadRefused([(row.row, column, " ".join(messages))])


@transaction.atomic
def dispatch_by_upload(rows: list[dict[str, Any]], *, actor: Actor) -> list[Shipment]:
    """Dispatch the packed parcels a sheet names, one row each (order number, carrier, tracking
    number; see selectors.plan_dispatch_upload for which parcel a row takes). All or nothing: a
    problem on any row, found now or while dispatching, refuses the whole sheet with UploadRefused
    and nothing is dispatched. Returns the dispatched shipments in the sheet's order."""
    require(actor, Orders.DISPATCH_ORDER, _("Your role may not dispatch orders."))
    numbers = {str(row.get("order_number", "")).strip().upper() for row in rows}
    locks.lock_orders_to_dispatch(Order.objects.filter(number__in=numbers).values_list("pk", flat=True))
    planned = plan_dispatch_upload(rows)
    problems = _problems(planned)
    if problems:
        raise UploadRefused(problems)
    dispatched = []
    for row in planned:
        try:
            dispatched.append(
                dispatch(
                    row.shipment.pk,
                    actor=actor,
                    carrier_id=row.carrier.pk,
                    tracking_number=str(row.values["tracking_number"]).strip(),
                )
            )
        except (ValidationError, TransitionRefused) as error:
            raise _refusal_of(row, error, "tracking_number") from error
    return dispatched


@transaction.atomic
def record_events_by_upload(rows: list[dict[str, Any]], *, actor: Actor) -> tuple[int, int]:
    """Record a carrier's file of tracking events (see selectors.plan_event_upload), oldest first so
    the parcels move in the order things happened. All or nothing: a problem on any row refuses
    the whole file with UploadRefused. An event already known is skipped. Returns (recorded,
    already known)."""
    require(actor, Logistics.RECORD_TRACKING, _("Your role may not record tracking events."))
    locks.lock_orders_of_parcels(str(row.get("tracking_number", "")).strip() for row in rows)
    planned = plan_event_upload(rows)
    problems = _problems(planned)
    if problems:
        raise UploadRefused(problems)
    recorded = known = 0
    for row in sorted(planned, key=lambda row: (row.values["occurred_at"], row.row)):
        try:
            _event, created = record_tracking_event(
                row.shipment.pk,
                status=row.values["status"],
                occurred_at=row.values["occurred_at"],
                source=TrackingEvent.Source.UPLOAD,
                location=row.values.get("location", ""),
                description=row.values.get("description", ""),
                exception_kind=row.values.get("exception_kind", ""),
                actor=actor,
            )
        except (ValidationError, TransitionRefused) as error:
            raise _refusal_of(row, error, "tracking_number") from error
        recorded, known = recorded + created, known + (not created)
    return recorded, known
