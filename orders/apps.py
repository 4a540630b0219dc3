from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        """Orders offers its exports through core's event (docs/architecture.md, "Events")."""
        from core.events import EXPORTS_OFFERED

        from .exports import offered_exports

        EXPORTS_OFFERED.subscribe(offered_exports)
