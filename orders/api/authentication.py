from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from ..models import Channel
from ..services import authenticate_token

KEYWORD = b"bearer"


@dataclass(frozen=True)
class ChannelClient:
    """Who calls the API: a sales channel, not a person. `request.user` in channel views."""

    channel: Channel
    is_authenticated = True
    is_anonymous = False


def bearer_secret(request):
    """The token of an `Authorization: Bearer <token>` header ("" when it cannot be a token), or
    None when the request brings no bearer token at all."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != KEYWORD:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return ""


class ChannelTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` with the token the channel got in the console."""

    def authenticate(self, request):
        secret = bearer_secret(request)
        if secret is None:
            return None
        token = authenticate_token(secret)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("This API token is not valid: it may have been rotated or revoked, or its channel is inactive.")
            )
        return ChannelClient(token.channel), token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ChannelTokenScheme(OpenApiAuthenticationExtension):
    target_class = ChannelTokenAuthentication
    name = "channelToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(_("The channel's API token, made in the console on the channel's page.")),
        }
