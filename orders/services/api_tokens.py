"""A channel's API token: made, rotated and revoked by a manager, checked on every API request.

Only the token's SHA-256 hash and its first characters are stored; the token itself is shown once,
to the person who made it. A plain hash is enough: the token is 256 random bits, nothing to guess."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import stored_user
from core.permissions import Orders, require

from ..models import Channel, ChannelToken

TOKEN_START = "oc_"
PREFIX_LENGTH = 8
# Marking a token used on every request would write a row per request; this often is enough to
# tell a manager whether a channel still calls.
LAST_USED_PRECISION = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: ChannelToken
    secret: str


def token_hash(secret):
    """How a credential (a channel's API token, a carrier's webhook token) is kept: its SHA-256, so
    a leaked database reveals no token."""
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue_token(channel_id, *, actor):
    """Give the channel a new token, replacing (rotating) the one it had: the old token stops
    working at once. Returns the stored token and the secret, which is not kept anywhere."""
    require(actor, Orders.ADD_CHANNELTOKEN, _("Your role may not create API tokens."))
    channel = Channel.objects.select_for_update().get(pk=channel_id)
    secret = TOKEN_START + secrets.token_urlsafe(32)
    token, _created = ChannelToken.objects.update_or_create(
        channel=channel,
        defaults={
            "key_hash": token_hash(secret),
            "prefix": secret[:PREFIX_LENGTH],
            "created_at": timezone.now(),
            "created_by": stored_user(actor),
            "last_used_at": None,
        },
    )
    return IssuedToken(token, secret)


@transaction.atomic
def revoke_token(channel_id, *, actor):
    """Take the channel's token away; its API requests are refused from now on."""
    require(actor, Orders.DELETE_CHANNELTOKEN, _("Your role may not revoke API tokens."))
    channel = Channel.objects.select_for_update().get(pk=channel_id)
    deleted, _by_model = ChannelToken.objects.filter(channel=channel).delete()
    return bool(deleted)


def authenticate_token(secret):
    """The token of an active channel that `secret` belongs to, or None."""
    if not secret.startswith(TOKEN_START):
        return None
    token = (
        ChannelToken.objects.select_related("channel").filter(key_hash=token_hash(secret), channel__active=True).first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
        # One statement, no lock: two requests at once may both write, and either time is right.
        ChannelToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
