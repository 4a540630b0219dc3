"""A channel's API token: made, rotated and revoked by a manager, checked on every API request.
Only its hash and first characters are stored (core.tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import Actor, stored_user
from core.permissions import Orders, require
from core.tokens import make_token, token_hash, token_prefix

from .. import locks
from ..models import ChannelToken

TOKEN_START = "oc_"
# Marking a token used on every request would write a row per request; this often is enough to
# tell a manager whether a channel still calls.
LAST_USED_PRECISION = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: ChannelToken
    secret: str


@transaction.atomic
def issue_token(channel_id: int, *, actor: Actor) -> IssuedToken:
    """Give the channel a new token, replacing (rotating) the one it had: the old token stops
    working at once. Returns the stored token and the secret, which is not kept anywhere."""
    require(actor, Orders.ADD_CHANNELTOKEN, _("Your role may not create API tokens."))
    channel = locks.lock_channel(channel_id)
    secret = make_token(TOKEN_START)
    token, _created = ChannelToken.objects.update_or_create(
        channel=channel,
        defaults={
            "key_hash": token_hash(secret),
            "prefix": token_prefix(secret),
            "created_at": timezone.now(),
            "created_by": stored_user(actor),
            "last_used_at": None,
        },
    )
    return IssuedToken(token, secret)


@transaction.atomic
def revoke_token(channel_id: int, *, actor: Actor) -> bool:
    """Take the channel's token away; its API requests are refused from now on."""
    require(actor, Orders.DELETE_CHANNELTOKEN, _("Your role may not revoke API tokens."))
    channel = locks.lock_channel(channel_id)
    deleted, _by_model = ChannelToken.objects.filter(channel=channel).delete()
    return bool(deleted)


def authenticate_token(secret: str) -> ChannelToken | None:
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
