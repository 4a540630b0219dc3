from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo shop a newcomer's console opens on (`manage.py seed_demo`). It sits above every
    other app because it tells its story through all of their services; nothing imports it."""

    name = "demo"
    verbose_name = _("Demo shop")
