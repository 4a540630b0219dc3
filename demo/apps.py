from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo shop a newcomer's console opens on (`manage.py seed_demo`). It sits above every
    other app because it tells its story through all of their services; nothing imports it. It has
    no models, so it never shows in the console."""

    name = "demo"
