"""Carriers' webhook tokens."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.permissions import Logistics, require
from orders.services import api_tokens as orders_api_tokens

from ..models import Carrier

WEBHOOK_TOKEN_BYTES = 32


@transaction.atomic
def issue_webhook_token(carrier_id, *, actor):
    """A new webhook token for a carrier, replacing any earlier one at once. Only its hash and first
    characters are kept: the returned token is shown once and cannot be read back."""
    require(actor, Logistics.CHANGE_CARRIER, _("Your role may not manage carrier webhook tokens."))
    carrier = Carrier.objects.select_for_update().filter(pk=carrier_id).first()
    if carrier is None:
        raise ValidationError({"carrier": _("This carrier no longer exists.")})
    token = secrets.token_urlsafe(WEBHOOK_TOKEN_BYTES)
    carrier.webhook_token_hash = orders_api_tokens.token_hash(token)
    carrier.webhook_token_prefix = token[:8]
    carrier.save(update_fields=["webhook_token_hash", "webhook_token_prefix"])
    return token
