"""The one policy for customers' personal data (docs/architecture.md, "Personal data"): which of a
name, a phone number and an address a person sees in full, how the rest is masked, and the access
log of who saw, exported, handed out or erased it.

Whether someone sees a kind of data in full is a permission of their role (`SEES_IN_FULL`); which role
holds which is `core/roles.py`. Masking functions here know no app: the phone number's own masking
reads the number with `phonenumbers` in `orders.services.phones`, where numbers are normalised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from . import jobs
from .actors import SYSTEM, Actor, ensure_actor
from .events import PERSONAL_DATA_EXPIRED
from .models import PersonalDataAccess
from .permissions import Orders, may

Action = PersonalDataAccess.Action

NAME, PHONE, ADDRESS = "name", "phone", "address"
SEES_IN_FULL = {
    NAME: Orders.VIEW_CUSTOMER_NAME,
    PHONE: Orders.VIEW_CUSTOMER_PHONE,
    ADDRESS: Orders.VIEW_CUSTOMER_ADDRESS,
}
MASK = "*"
HIDDEN_STREET = "****"


@dataclass(frozen=True)
class Sight:
    """What one person sees in full: a name, a phone number, a street address (with its postcode).
    The province, city and district are shown to everyone who may see the order: they are the
    figures' region and where a parcel goes, and name nobody."""

    name: bool
    phone: bool
    address: bool

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(kind for kind in (NAME, PHONE, ADDRESS) if getattr(self, kind))

    def shown_name(self, name: str) -> str:
        return name if self.name else mask_name(name)

    def shown_street(self, street: str) -> str:
        return street if self.address else mask_street(street)

    def shown_postcode(self, postcode: str) -> str:
        return postcode if self.address else mask_postcode(postcode)

    def shown_email(self, email: str) -> str:
        # An email address names its owner as a phone number does.
        return email if self.phone else mask_email(email)


def sight_of(actor: Actor) -> Sight:
    """What `actor` sees in full; the system sees everything."""
    return Sight(**{kind: may(actor, permission) for kind, permission in SEES_IN_FULL.items()})


def mask_name(name: str) -> str:
    """The first character of each word, the rest starred: 张三丰 → 张**, Li Wei → L* W**."""
    return " ".join(word[:1] + MASK * (len(word) - 1) for word in name.split())


def mask_street(street: str) -> str:
    return HIDDEN_STREET if street else ""


def mask_postcode(postcode: str) -> str:
    """The first two digits (the province's) and stars: 200000 → 20****."""
    return postcode[:2] + MASK * (len(postcode) - 2) if len(postcode) > 2 else MASK * len(postcode)


def mask_email(email: str) -> str:
    """The first character of the mailbox and the whole domain: w***@example.com."""
    mailbox, at, domain = email.partition("@")
    return f"{mailbox[:1]}{MASK * 3}{at}{domain}" if mailbox else ""


def record(
    actor: Actor,
    action: str,
    *,
    customer_id: int | None = None,
    order_number: str = "",
    subject: str = "",
    fields: tuple[str, ...] = (),
    rows: int | None = None,
) -> PersonalDataAccess:
    """Write one line of the access log. It is written in a transaction of its own (a savepoint
    inside the caller's), so a refused erasure is recorded even though the refusal rolls its
    transaction back: the caller records it after leaving the transaction."""
    actor = ensure_actor(actor)
    with transaction.atomic():
        return PersonalDataAccess.objects.create(
            actor=None if actor is SYSTEM else actor,
            action=action,
            customer_id=customer_id,
            order_number=order_number or "",
            subject=str(subject)[:255],
            fields=",".join(fields),
            rows=rows,
        )


def record_view(actor: Actor, sight: Sight, *, customer_id: int | None, order_number: str = "", page: str) -> None:
    """Log that `actor` opened a page with a customer's details; only when something was shown
    unmasked, since masked details are what anyone with the page may see."""
    if sight.fields:
        record(
            actor,
            Action.VIEWED,
            customer_id=customer_id,
            order_number=order_number,
            subject=page,
            fields=sight.fields,
        )


def record_views(actor: Actor, sight: Sight, openings: Iterable[tuple[int | None, str]], *, page: str) -> None:
    """record_view for many orders shown on one page at once (a batch of slips and labels): one
    line per (customer id, order number), written in one statement."""
    if not sight.fields:
        return
    actor = ensure_actor(actor)
    PersonalDataAccess.objects.bulk_create(
        [
            PersonalDataAccess(
                actor=None if actor is SYSTEM else actor,
                action=Action.VIEWED,
                customer_id=customer_id,
                order_number=order_number or "",
                subject=str(page)[:255],
                fields=",".join(sight.fields),
            )
            for customer_id, order_number in openings
        ]
    )


def forget_expired(*, now: datetime | None = None) -> list[str]:
    """Delete what is kept only for a while and is past its time: the files of jobs finished
    longer ago than JOB_FILES_KEPT_DAYS, then what each app keeps (core.personal_data_expired).
    Returns a sentence for each kind of thing, saying how much went. The daily retention run calls
    it (docs/architecture.md, "Personal data")."""
    now = now or timezone.now()
    discarded = jobs.discard_old_files(now=now)
    done = [
        ngettext(
            "Files of %(count)s import or export finished more than %(days)s days ago emptied.",
            "Files of %(count)s imports and exports finished more than %(days)s days ago emptied.",
            discarded,
        )
        % {"count": discarded, "days": jobs.files_kept_days()}
    ]
    for lines in PERSONAL_DATA_EXPIRED.publish(now=now):
        done.extend(lines)
    return done
