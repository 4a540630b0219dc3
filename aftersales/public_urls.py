"""Pages for customers, outside the console: the feedback page a delivered order's message links to."""

from django.urls import path

from .public_views import feedback

urlpatterns = [
    path("<str:token>/", feedback, name="feedback"),
]
