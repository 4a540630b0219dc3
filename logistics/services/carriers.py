"""Carriers' webhook tokens."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.actors import Actor
from core.permissions import Logistics, require
from core.tokens import make_token, token_hash, token_prefix

from .. import locks


@transaction.atomic
def issue_webhook_token(carrier_id: int, *, actor: Actor) -> str:
    """A new webhook token for a carrier, replacing any earlier one at once. Only its hash and first
    characters are kept: the returned token is shown once and cannot be read back."""
    require(actor, Logistics.CHANGE_CARRIER, _("Your role may not manage carrier webhook tokens."))
    carrier = locks.lock_carrier(carrier_id)
    if carrier is None:
        raise ValidationError({"carrier": _("This carrier no longer exists.")})
    token = make_token()
    carrier.webhook_token_hash = token_hash(token)
    carrier.webhook_token_prefix = token_prefix(token)
    carrier.save(update_fields=["webhook_token_hash", "webhook_token_prefix"])
    return token
