"""The blocklist of phones and addresses. Entries are stored in exactly the form intake compares
(a phone in E.164, an address as checks.address_key), so a number typed with spaces or a +86
prefix still matches the orders placed with it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Orders, require

from ..models import BlockedContact
from .checks import REQUIRED_ADDRESS_PARTS, address_key
from .phones import normalize_phone

Kind = BlockedContact.Kind


def blocked_value(
    kind: str, *, phone: str = "", province: str = "", city: str = "", district: str = "", address: str = ""
) -> str:
    """The value stored for a phone or an address; raises ValidationError naming what is missing."""
    if kind == Kind.PHONE:
        if not (phone or "").strip():
            raise ValidationError({"phone": _("Enter the phone number to block.")})
        value, valid = normalize_phone(phone)
        if not valid:
            raise ValidationError({"phone": _("“%(phone)s” is not a valid phone number.") % {"phone": phone}})
        return value
    if kind == Kind.ADDRESS:
        parts = {"province": province, "city": city, "district": district, "address": address}
        parts = {name: (part or "").strip() for name, part in parts.items()}
        missing = {
            name: _("Enter this part of the address to block.") for name in REQUIRED_ADDRESS_PARTS if not parts[name]
        }
        if missing:
            raise ValidationError(missing)
        return address_key(parts["province"], parts["city"], parts["district"], parts["address"])
    raise ValidationError({"kind": _("Choose phone or address.")})


@transaction.atomic
def block_contact(
    *,
    kind: str,
    reason: str,
    phone: str = "",
    province: str = "",
    city: str = "",
    district: str = "",
    address: str = "",
    actor: Actor,
) -> BlockedContact:
    """Put a phone or an address on the blocklist: new orders to it are held for review."""
    require(actor, Orders.ADD_BLOCKEDCONTACT, _("Your role may not add to the blocklist."))
    reason = (reason or "").strip()
    value = blocked_value(kind, phone=phone, province=province, city=city, district=district, address=address)
    if not reason:
        raise ValidationError({"reason": _("Say why this is blocked; reviewers see it on held orders.")})
    duplicate = ValidationError(_("%(value)s is already on the blocklist.") % {"value": value})
    if BlockedContact.objects.filter(kind=kind, value=value).exists():
        raise duplicate
    try:
        with transaction.atomic():
            return BlockedContact.objects.create(kind=kind, value=value, reason=reason)
    except IntegrityError as error:
        raise duplicate from error


@transaction.atomic
def unblock(blocked_contact_id: int, *, actor: Actor) -> None:
    """Take an entry off the blocklist; orders already held keep their reasons."""
    require(actor, Orders.DELETE_BLOCKEDCONTACT, _("Your role may not take entries off the blocklist."))
    BlockedContact.objects.filter(pk=blocked_contact_id).delete()
