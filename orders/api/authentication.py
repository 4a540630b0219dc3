from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from core.tokens import bearer_token

from ..models import Channel
from ..services import authenticate_token


@dataclass(frozen=True)
class ChannelClient:
    """Who calls the API: a sales channel, not a person. `request.user` in channel views."""

    channel: Channel
    is_authenticated = True
    is_anonymous = False


class ChannelTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` with the token the channel got in the console."""

    def authenticate(self, request):
        secret = bearer_token(request)
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
