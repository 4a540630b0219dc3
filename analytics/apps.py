from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        """The dashboard's rollups follow what the order and logistics services announce
        (docs/architecture.md, "Events")."""
        from logistics import events as logistics_events
        from orders import events as order_events

        from . import services

        order_events.ORDERS_PLACED.subscribe(services.orders_placed)
        order_events.ORDER_STATUS_CHANGED.subscribe(services.order_status_changed)
        order_events.PAYMENT_CAPTURED.subscribe(services.payment_captured)
        order_events.PAYMENTS_CAPTURED.subscribe(services.payments_captured)
        order_events.DELIVERY_ADDRESS_CORRECTED.subscribe(services.delivery_address_corrected)
        order_events.ORDER_REWRITING.subscribe(services.order_rewriting)
        logistics_events.PARCEL_PACKED.subscribe(services.parcel_packed)
        logistics_events.PARCEL_DISPATCHED.subscribe(services.parcel_dispatched)
        logistics_events.PARCEL_DELIVERED.subscribe(services.parcel_delivered)
        logistics_events.PACKING_SCAN_REFUSED.subscribe(services.packing_scan_refused)
        # Archived orders leave their figures behind for rebuild_rollups.
        order_events.ORDERS_ARCHIVING.subscribe(services.keep_archived_figures)
