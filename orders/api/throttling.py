from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core import counters

# Unless REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["channel"] says otherwise.
DEFAULT_CHANNEL_RATE = "600/minute"


class ChannelRateThrottle(SimpleRateThrottle):
    """At most so many requests per channel in each period, counted with `core.counters`: atomic
    and shared by every app server, in Redis with REDIS_URL and in the database without
    (docs/architecture.md, "The channel API").

    The periods are fixed windows with one counter each, so a request costs one count however high
    the rate; DRF's own throttle stores the time of every request in the window and rewrites that
    list on each request, which loses requests that arrive at once."""

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
        self.seconds_left = self.duration - now % self.duration
        key = f"throttle:{self.scope}:{channel.pk}:{int(now // self.duration)}"
        # The count outlives its window by a second, so a request at the window's last moment
        # never finds it gone.
        return counters.increment(key, expires_in=self.seconds_left + 1) <= self.num_requests

    def wait(self):
        return self.seconds_left
