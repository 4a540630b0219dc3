from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        from core.events import EXPORTS_OFFERED

        from . import signals  # noqa: F401  (connects the receivers)
        from .exports import offered_exports

        EXPORTS_OFFERED.subscribe(offered_exports)
