"""Secret tokens that let a machine in: a sales channel's API token, a carrier's webhook token.

Only a token's SHA-256 is stored, with its first characters to recognise it by; the token itself is
shown once, to the person who made it, so a leaked database reveals no token. A plain hash is
enough: a token is 256 random bits, nothing to guess."""

from __future__ import annotations

import hashlib
import secrets

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

TOKEN_BYTES = 32
# How many of a token's first characters are kept, so a person can tell which token is meant.
PREFIX_LENGTH = 8
BEARER = b"bearer"


def make_token(start: str = "") -> str:
    """A new random token (256 bits, URL-safe), beginning with `start`."""
    return start + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    """What is kept of a token besides its hash: its first characters."""
    return token[:PREFIX_LENGTH]


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header ("" when it cannot be a token), or
    None when the request brings no bearer token at all."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != BEARER:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return ""
