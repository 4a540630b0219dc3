"""Who is asking, for counting failed guesses on the console's sign-in (django-axes) and the public
tracking page (docs/architecture.md, "Sign-in and security")."""

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR when the app is reached directly; behind a proxy, the
    header named by CLIENT_IP_HEADER (such as HTTP_X_REAL_IP), which the proxy must always set
    itself so that a client cannot choose its own."""
    if settings.CLIENT_IP_HEADER:
        forwarded = request.META.get(settings.CLIENT_IP_HEADER, "")
        # X-Forwarded-For style lists: the proxy appends the client it saw last.
        address = forwarded.split(",")[-1].strip()
        if address:
            return address
    return request.META.get("REMOTE_ADDR", "")
