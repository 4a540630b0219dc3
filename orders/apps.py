from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        """Orders offers its exports through core's event, and recovers its customer messages
        when core's sweep asks (docs/architecture.md, "Events")."""
        from core.events import EXPORTS_OFFERED, STALE_WORK

        from .exports import offered_exports
        from .services.notifications import resend_stuck

        EXPORTS_OFFERED.subscribe(offered_exports)
        STALE_WORK.subscribe(resend_stuck)
