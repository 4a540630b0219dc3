from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        """Logistics takes part in the order's work through the order app's events, and offers its
        export through core's (docs/architecture.md, "Events")."""
        from core.events import EXPORTS_OFFERED
        from orders import events as order_events

        from . import api, selectors, services
        from .exports import offered_exports

        # A cancelled order's parcels that have not left are void, in the cancellation's transaction.
        order_events.ORDER_CANCELLED.subscribe(services.cancel_open_shipments)
        order_events.ORDER_API_PARTS.subscribe(api.order_shipments)
        # Parcels go to the archive with their order, in its archiving transaction.
        order_events.ORDERS_ARCHIVING.subscribe(selectors.rows_to_archive)
        EXPORTS_OFFERED.subscribe(offered_exports)
