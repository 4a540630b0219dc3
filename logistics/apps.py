from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        """Logistics takes part in the order's work through the order app's events, and offers its
        export through core's (docs/architecture.md, "Events")."""
        from core.events import EXPORTS_OFFERED, PERSONAL_DATA_EXPIRED
        from orders import events as order_events

        from . import api, selectors, services
        from .admin.interceptions import order_interceptions_card
        from .admin.order_actions import order_list_actions
        from .exports import offered_exports
        from .selectors import customer_data_sheets
        from .services.privacy import erase_archived_personal_data, erase_personal_data
        from .services.public_tracking import forget_old_lookups

        # A cancelled order's parcels that have not left are void, in the cancellation's transaction.
        order_events.ORDER_CANCELLED.subscribe(services.cancel_open_shipments)
        order_events.ORDER_API_PARTS.subscribe(api.order_shipments)
        # The order list's bulk actions on parcels: the carrier service, slips and labels.
        order_events.ORDER_LIST_ACTIONS.subscribe(order_list_actions)
        # The order list: found by a parcel's tracking number, and its carrier and tracking columns.
        order_events.ORDER_SEARCH.subscribe(selectors.orders_with_tracking_number)
        order_events.ORDER_LIST_SHIPPING.subscribe(selectors.shipping_columns)
        # The order page shows its parcels' interceptions, flagging one that waits for a decision.
        order_events.ORDER_PAGE_SECTIONS.subscribe(order_interceptions_card)
        # The reconciliation page's cash on delivery the carriers still hold.
        order_events.COD_OUTSTANDING.subscribe(selectors.cod_outstanding)
        # Intake holds an order sent where no carrier service delivers.
        order_events.UNREACHABLE_REGIONS.subscribe(selectors.unreachable_regions)
        # Parcels go to the archive with their order, in its archiving transaction.
        order_events.ORDERS_ARCHIVING.subscribe(selectors.rows_to_archive)
        EXPORTS_OFFERED.subscribe(offered_exports)
        # Customers' personal data: their parcels in their workbook, and the carriers' words erased
        # from live and archived parcels.
        order_events.CUSTOMER_DATA_SHEETS.subscribe(customer_data_sheets)
        order_events.PERSONAL_DATA_ERASED.subscribe(erase_personal_data)
        order_events.ERASING_ARCHIVED_ORDER.subscribe(erase_archived_personal_data)
        # The public tracking page's failed lookups, with clients' addresses, are kept a day.
        PERSONAL_DATA_EXPIRED.subscribe(forget_old_lookups)
