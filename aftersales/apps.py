from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self):
        """After-sales takes part in the order's work through the order app's events
        (docs/architecture.md, "Events")."""
        from orders import events as order_events

        from . import api
        from .admin.returns import order_returns_card
        from .admin.tickets import order_tickets_section
        from .selectors import privacy as privacy_selectors
        from .selectors.archive import orders_kept_live, rows_to_archive
        from .selectors.returns import orders_with_open_returns
        from .selectors.tickets import orders_with_open_complaints
        from .services.feedback import message_context
        from .services.privacy import erase_archived_personal_data, erase_personal_data

        # A delivered order is not completed while a return or a complaint about it is still open.
        order_events.COMPLETION_BLOCKERS.subscribe(orders_with_open_returns)
        order_events.COMPLETION_BLOCKERS.subscribe(orders_with_open_complaints)
        order_events.MESSAGE_CONTEXT.subscribe(message_context)
        order_events.ORDER_PAGE_SECTIONS.subscribe(order_returns_card)
        order_events.ORDER_PAGE_SECTIONS.subscribe(order_tickets_section)
        order_events.ORDER_API_PARTS.subscribe(api.order_returns)
        # Customers' personal data: their workbook, what keeps it, and erasing after-sales' copies.
        order_events.CUSTOMER_DATA_SHEETS.subscribe(privacy_selectors.customer_data_sheets)
        order_events.ERASURE_BLOCKERS.subscribe(privacy_selectors.erasure_blockers)
        order_events.PERSONAL_DATA_ERASED.subscribe(erase_personal_data)
        order_events.ERASING_ARCHIVED_ORDER.subscribe(erase_archived_personal_data)
        # Open cases keep their order live; closed ones go to the archive with it.
        order_events.ARCHIVE_HELD_BACK.subscribe(orders_kept_live)
        order_events.ORDERS_ARCHIVING.subscribe(rows_to_archive)
