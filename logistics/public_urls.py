"""Pages and endpoints outside the console: the customers' tracking page and the carriers' webhook
(also served under the API as /api/v1/tracking-events/)."""

from django.urls import path

from .public_views import track
from .webhooks import TrackingEventsView

urlpatterns = [
    path("track/", track, name="track"),
    path("webhooks/carriers/tracking-events/", TrackingEventsView.as_view(), name="carrier-tracking-events"),
]
