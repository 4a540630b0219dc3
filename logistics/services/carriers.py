"""Carriers' webhook tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.tokens import make_token, token_hash, token_prefix

from .. import locks
from .common import require

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def issue_webhook_token(carrier_id: int, *, actor: User | None) -> str:
    """A new webhook token for a carrier, replacing any earlier one at once. Only its hash and first
    characters are kept: the returned token is shown once and cannot be read back."""
    require(actor, "logistics.change_carrier", _("Your role may not manage carrier webhook tokens."))
    carrier = locks.lock_carrier(carrier_id)
    if carrier is None:
        raise ValidationError({"carrier": _("This carrier no longer exists.")})
    token = make_token()
    carrier.webhook_token_hash = token_hash(token)
    carrier.webhook_token_prefix = token_prefix(token)
    carrier.save(update_fields=["webhook_token_hash", "webhook_token_prefix"])
    return token
