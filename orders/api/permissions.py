from rest_framework.permissions import BasePermission

from .authentication import ChannelClient


class IsChannel(BasePermission):
    """Only a channel with a valid token; what it may see is then limited to its own data."""

    def has_permission(self, request, view):
        return isinstance(request.user, ChannelClient)
