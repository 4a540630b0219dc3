"""Printing slips and labels in batches (docs/architecture.md, "Printing in batches"): a print is
a POST that counts each parcel's label and gives a parcel without a tracking number one from its
carrier service's pool, so the page that then shows the labels only reads. A number is given once:
the parcels are locked first, the free numbers are taken with SKIP LOCKED (two prints at once take
different ones), and the unique constraints on pool numbers and on parcels' tracking numbers are
the last word. A number that leaves its parcel (a carrier switched, another number entered) is
burnt with why, never given again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Logistics, require

from .. import locks
from ..models import PooledTrackingNumber, Shipment, TrackingNumberPool


@dataclass
class Printed:
    """What a print did: the parcels whose labels were counted (open ones; parcels that have left
    or were cancelled are not printed), the numbers given now by parcel id, and the parcels left
    without a number because their pool ran out."""

    shipments: list[Shipment] = field(default_factory=list)
    given: dict[int, str] = field(default_factory=dict)
    pool_empty: list[Shipment] = field(default_factory=list)


@transaction.atomic
def print_labels(shipment_ids: Iterable[int], *, actor: Actor) -> Printed:
    """Count a print of these parcels' labels and give each open parcel that has no tracking
    number one from its service's pool. Locks the parcels by primary key (without their orders),
    then the pool numbers it gives, and nothing after them."""
    require(actor, Logistics.PRINT_LABELS, _("Your role may not print labels."))
    shipment_ids = list(shipment_ids)
    position = {pk: index for index, pk in reversed(list(enumerate(shipment_ids)))}
    # Locked by primary key; numbers are then given in the order asked (a pick list's walk).
    locked = sorted(locks.lock_shipments_to_print(shipment_ids), key=lambda parcel: position[parcel.pk])
    parcels = [parcel for parcel in locked if parcel.status in Shipment.OPEN]
    printed = Printed(shipments=parcels)
    if not parcels:
        return printed
    now = timezone.now()
    numbers = _give_numbers(parcels, printed, now)
    for parcel in parcels:
        parcel.label_prints += 1
        parcel.label_printed_at = now
    try:
        # A number entered by hand on another parcel between the check and here, or a parcel given a
        # number twice: the unique constraints refuse, and the print keeps nothing.
        with transaction.atomic():
            PooledTrackingNumber.objects.bulk_update(numbers, ["shipment", "allocated_at"])
            # One UPDATE per parcel row: a row updated twice in one transaction has its foreign keys
            # checked at commit, which would wait for its order's lock (a carrier switch holds it
            # while it waits for this parcel).
            Shipment.objects.bulk_update(parcels, ["tracking_number", "label_prints", "label_printed_at"])
    except IntegrityError as error:
        raise ValidationError(
            _("A tracking number was given to another parcel at the same moment; nothing was printed. Print again.")
        ) from error
    return printed


def _give_numbers(parcels, printed, now):
    """Put the next free number of its service's pool on each parcel that wants one (not saved yet);
    returns the numbers, marked as given."""
    wanting = defaultdict(list)
    for parcel in parcels:
        # A number of the service's carrier, for a parcel still with that carrier.
        if not parcel.tracking_number and parcel.service_id and parcel.carrier_id == parcel.service.carrier_id:
            wanting[parcel.service_id].append(parcel)
    if not wanting:
        return []
    pools = {pool.service_id: pool for pool in TrackingNumberPool.objects.filter(service_id__in=wanting)}
    numbers = []
    for service_id, waiting in wanting.items():
        pool = pools.get(service_id)
        if pool is None:
            continue
        taken = _free_numbers(pool, waiting[0].carrier_id, len(waiting), now)
        for parcel, number in zip(waiting, taken, strict=False):
            parcel.tracking_number = number.number
            number.shipment_id, number.allocated_at = parcel.pk, now
            numbers.append(number)
            printed.given[parcel.pk] = number.number
        printed.pool_empty.extend(waiting[len(taken) :])
    return numbers


def _free_numbers(pool, carrier_id, count, now):
    """Up to `count` free numbers of the pool, locked. A free number found on a parcel already (typed
    in by hand) is burnt, saying on which, and the next one taken instead."""
    found = []
    while len(found) < count:
        # The numbers taken so far are still free in the table until the print writes them.
        batch = locks.take_free_numbers(pool.pk, count - len(found), other_than=[number.pk for number in found])
        if not batch:
            break
        on_parcels = dict(
            Shipment.objects.filter(
                carrier_id=carrier_id, tracking_number__in=[number.number for number in batch]
            ).values_list("tracking_number", "order__number")
        )
        for number in batch:
            if number.number in on_parcels:
                number.burnt_at = now
                number.burnt_because = _("Already on the parcel of order %(order)s, entered by hand.") % {
                    "order": on_parcels[number.number]
                }
                number.save(update_fields=["burnt_at", "burnt_because"])
            else:
                found.append(number)
    return found


def burn_pool_number(shipment: Shipment, because: str) -> PooledTrackingNumber | None:
    """The pool number a locked parcel holds is taken off it for good: the caller is about to drop
    or replace the parcel's tracking number. Returns the burnt number, or None."""
    number = locks.lock_pool_number_of(shipment.pk)
    if number is None:
        return None
    number.burnt_at = timezone.now()
    number.burnt_because = because[: PooledTrackingNumber._meta.get_field("burnt_because").max_length]
    number.save(update_fields=["burnt_at", "burnt_because"])
    return number
