from django.apps import AppConfig
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self):
        from orders.services.acceptance import completion_blockers
        from orders.services.notifications import MESSAGE_CONTEXT_EXTRAS

        from .models import ReturnRequest, Ticket
        from .services.feedback import feedback_url

        # A delivered order is not completed while a return or a complaint about it is still open.
        completion_blockers.append(lambda: Q(returns__status__in=ReturnRequest.OPEN))
        completion_blockers.append(lambda: Q(tickets__status__in=Ticket.OPEN))
        # Messages to customers may link to the feedback page ({{ feedback_url }}); the delivered
        # message does (migration 0002).
        MESSAGE_CONTEXT_EXTRAS.append(lambda order: {"feedback_url": feedback_url(order)})
