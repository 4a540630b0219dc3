import math

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

# Unless REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["channel"] says otherwise.
DEFAULT_CHANNEL_RATE = "600/minute"


class ChannelRateThrottle(SimpleRateThrottle):
    """At most so many requests per channel in each period, counted in the default cache, which
    must be one every app server shares (the database cache).

    The periods are fixed windows with one counter each, so a request costs the same however high
    the rate; DRF's own throttle stores the time of every request in the window and rewrites that
    list on each request. Two requests at the same moment may both count as one: a limit, not a bill."""

    scope = "channel"

    def get_rate(self):
        # DRF copies the rates when it is first imported; reading them per request lets a changed
        # setting apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope, DEFAULT_CHANNEL_RATE)

    def allow_request(self, request, view):
        channel = getattr(request.user, "channel", None)
        if channel is None:
            return True
        now = self.timer()
        key = f"throttle:{self.scope}:{channel.pk}:{int(now // self.duration)}"
        self.seconds_left = self.duration - now % self.duration
        count = cache.get(key, 0) + 1
        cache.set(key, count, timeout=math.ceil(self.seconds_left))
        return count <= self.num_requests

    def wait(self):
        return self.seconds_left
