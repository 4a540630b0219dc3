"""Filling carrier services' tracking-number pools from a sheet (docs/architecture.md, "Printing in
batches"): each row gives one number, or a range from start to end with an optional prefix, for one
carrier service. Every number must fit the carrier's tracking-number pattern and be new: not twice
in the file, not in a pool already, not on a parcel of the carrier."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Logistics, require

from .. import locks
from ..models import CarrierService, PooledTrackingNumber, Shipment, TrackingNumberPool

# One file's numbers at most, and so one range's: a carrier's allotment is thousands, not millions.
MAX_NUMBERS = 100_000


@dataclass(frozen=True)
class PoolRow:
    """One row of the sheet: a carrier's and service's codes, then a number, or a range; `line` is
    where it came from (the Excel row), which a message about a number given twice names."""

    carrier: str
    service: str
    number: str = ""
    start: str = ""
    end: str = ""
    prefix: str = ""
    line: int | None = None


def numbers_of(row: PoolRow) -> list[str]:
    """The numbers a row gives, or a ValidationError naming the column that is wrong."""
    if row.number and (row.start or row.end):
        raise ValidationError({"number": [_("Give either one number or a range from start to end, not both.")]})
    if row.number:
        if row.prefix:
            return [row.prefix + row.number]
        return [row.number]
    if not row.start and not row.end:
        raise ValidationError({"number": [_("Give a number, or a range from start to end.")]})
    for key in ("start", "end"):
        value = getattr(row, key)
        if not value.isdigit() or not value.isascii():
            raise ValidationError({key: [_("A range's start and end are digits only; put letters in the prefix.")]})
    if len(row.end) != len(row.start):
        raise ValidationError(
            {"end": [_("The end has as many digits as the start (%(digits)s).") % {"digits": len(row.start)}]}
        )
    first, last = int(row.start), int(row.end)
    if last < first:
        raise ValidationError({"end": [_("The end comes before the start.")]})
    if last - first + 1 > MAX_NUMBERS:
        raise ValidationError(
            {"end": [_("A range holds at most %(max)s numbers; split it into several rows.") % {"max": MAX_NUMBERS}]}
        )
    width = len(row.start)
    return [f"{row.prefix}{value:0{width}d}" for value in range(first, last + 1)]


@transaction.atomic
def import_tracking_numbers(rows: list[PoolRow], *, actor: Actor) -> list:
    """Add the rows' numbers to the pools of their carrier services (a pool is made for a service
    that has none). Answers one outcome per row: the count of its numbers, or the ValidationError
    that refused it. The rows that pass are written all the same; a caller that wants all or
    nothing rolls its transaction back when any row is refused (the import does). Locks the pools
    named, by primary key, and nothing after them."""
    require(actor, Logistics.IMPORT_TRACKING_NUMBERS, _("Your role may not import tracking numbers."))
    services = {
        (service.carrier.code, service.code): service
        for service in CarrierService.objects.select_related("carrier").filter(
            carrier__code__in={row.carrier for row in rows}, code__in={row.service for row in rows}
        )
    }
    named = {services[row.carrier, row.service].pk for row in rows if (row.carrier, row.service) in services}
    existing = set(TrackingNumberPool.objects.filter(service_id__in=named).values_list("service_id", flat=True))
    TrackingNumberPool.objects.bulk_create(
        [TrackingNumberPool(service_id=service_id) for service_id in named - existing], ignore_conflicts=True
    )
    pools = locks.lock_pools(named)
    expanded, outcomes, seen = [], [], {}
    total = 0
    for index, row in enumerate(rows):
        try:
            service = services.get((row.carrier, row.service))
            if service is None:
                raise ValidationError(
                    {
                        "service": [
                            _("Carrier %(carrier)s has no service “%(service)s”.")
                            % {"carrier": row.carrier, "service": row.service}
                        ]
                    }
                )
            numbers = numbers_of(row)
            total += len(numbers)
            if total > MAX_NUMBERS:
                raise ValidationError(
                    {"__all__": [_("A file holds at most %(max)s numbers; split it.") % {"max": MAX_NUMBERS}]}
                )
            column = "number" if row.number else "start"
            misfit = next((number for number in numbers if service.carrier.takes(number) is False), None)
            if misfit is not None:
                raise ValidationError(
                    {
                        column: [
                            _("%(number)s is not a %(carrier)s tracking number (the carrier's pattern is %(pattern)s).")
                            % {
                                "number": misfit,
                                "carrier": service.carrier,
                                "pattern": service.carrier.tracking_number_pattern,
                            }
                        ]
                    }
                )
            again = next((number for number in numbers if (service.carrier_id, number) in seen), None)
            if again is not None:
                raise ValidationError(
                    {
                        column: [
                            _("%(number)s is also in row %(row)s of this file.")
                            % {"number": again, "row": seen[service.carrier_id, again]}
                        ]
                    }
                )
        except ValidationError as error:
            outcomes.append(error)
            expanded.append((None, []))
            continue
        for number in numbers:
            seen[service.carrier_id, number] = row.line or index + 1
        expanded.append((service, numbers))
        outcomes.append(len(numbers))
    _refuse_known_numbers(expanded, outcomes, rows)
    imported_by = stored_user(actor)
    fresh = [
        PooledTrackingNumber(
            pool=pools[service.pk], carrier_id=service.carrier_id, number=number, imported_by=imported_by
        )
        for (service, numbers), outcome in zip(expanded, outcomes, strict=True)
        if not isinstance(outcome, ValidationError)
        for number in numbers
    ]
    try:
        # Another import of the same numbers into another service's pool of the carrier at this
        # moment: the unique constraint decides, and this file keeps nothing.
        with transaction.atomic():
            PooledTrackingNumber.objects.bulk_create(fresh, batch_size=5_000)
    except IntegrityError as error:
        raise ValidationError(
            _("Some of these numbers were imported by someone else at the same moment; nothing was imported.")
        ) from error
    return outcomes


def _refuse_known_numbers(expanded, outcomes, rows):
    """Refuse the rows with a number already in a pool of the carrier or on a parcel of it: two
    queries for the whole file."""
    wanted = {(service.carrier_id, number) for service, numbers in expanded if service for number in numbers}
    if not wanted:
        return
    carriers = {carrier_id for carrier_id, _number in wanted}
    texts = {number for _carrier_id, number in wanted}
    pooled = set(
        PooledTrackingNumber.objects.filter(carrier_id__in=carriers, number__in=texts).values_list(
            "carrier_id", "number"
        )
    )
    on_parcels = {
        (carrier_id, number): order
        for carrier_id, number, order in Shipment.objects.filter(
            carrier_id__in=carriers, tracking_number__in=texts
        ).values_list("carrier_id", "tracking_number", "order__number")
    }
    for index, (service, numbers) in enumerate(expanded):
        if service is None:
            continue
        column = "number" if rows[index].number else "start"
        for number in numbers:
            key = (service.carrier_id, number)
            if key in pooled:
                message = _("%(number)s is in a %(carrier)s pool already.") % {
                    "number": number,
                    "carrier": service.carrier,
                }
            elif key in on_parcels:
                message = _("%(number)s is on the parcel of order %(order)s already.") % {
                    "number": number,
                    "order": on_parcels[key],
                }
            else:
                continue
            outcomes[index] = ValidationError({column: [message]})
            break


@transaction.atomic
def set_pool_warning(pool_id: int, *, low_below: int, actor: Actor) -> TrackingNumberPool:
    """Say from how few numbers left a pool is shown as running low. Those who import a carrier's
    numbers set it, since they know how fast the carrier sends more."""
    require(actor, Logistics.IMPORT_TRACKING_NUMBERS, _("Your role may not manage tracking-number pools."))
    if not isinstance(low_below, int) or not 0 <= low_below <= MAX_NUMBERS:
        raise ValidationError({"low_below": _("Enter a whole number from 0 to %(max)s.") % {"max": f"{MAX_NUMBERS:,}"}})
    pool = TrackingNumberPool.objects.select_for_update().get(pk=pool_id)
    pool.low_below = low_below
    pool.save(update_fields=["low_below"])
    return pool
