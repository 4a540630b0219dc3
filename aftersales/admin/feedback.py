"""Customer feedback in the console: what customers said through the link sent after delivery, with
the satisfaction of the last 30 days above the list. Read-only: only customers give feedback."""

from datetime import timedelta

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, short_datetime
from orders.selectors import search_by_order_number

from ..models import Feedback
from ..selectors import tickets as selectors

SATISFACTION_DAYS = 30
COMMENT_SHOWN = 160


def stars(rating):
    return format_html(
        '<span class="oc-stars" title="{}/5">{}<span class="oc-stars-off">{}</span></span>',
        rating,
        "★" * rating,
        "★" * (5 - rating),
    )


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order_link", "rating_display", "comment_display", "ticket_link", "given")
    list_display_links = None
    list_filter = ("rating",)
    # Searching is by exact order number (see get_search_results).
    search_fields = ("order__number",)
    search_help_text = _("Exact order number.")
    list_per_page = 50
    show_full_result_count = False
    actions = None
    change_list_template = "admin/aftersales/feedback/change_list.html"

    def get_queryset(self, request):
        return selectors.feedback_list()

    def get_search_results(self, request, queryset, search_term):
        return search_by_order_number(queryset, search_term), False

    def changelist_view(self, request, extra_context=None):
        today = timezone.localdate()
        satisfaction = selectors.csat(today - timedelta(days=SATISFACTION_DAYS - 1), today)
        percent = round(satisfaction.share * 100) if satisfaction.count else None
        return super().changelist_view(
            request,
            {
                "satisfaction": satisfaction,
                "satisfaction_percent": percent,
                "satisfaction_days": SATISFACTION_DAYS,
                **(extra_context or {}),
            },
        )

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, feedback):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[feedback.order_id]), feedback.order.number
        )

    @admin.display(description=_("rating"), ordering="rating")
    def rating_display(self, feedback):
        return stars(feedback.rating)

    @admin.display(description=_("comment"))
    def comment_display(self, feedback):
        return Truncator(feedback.comment).chars(COMMENT_SHOWN) or "—"

    @admin.display(description=_("ticket opened"))
    def ticket_link(self, feedback):
        if feedback.ticket_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:aftersales_ticket_change", args=[feedback.ticket_id]),
            feedback.ticket.number,
        )

    @admin.display(description=_("given at"), ordering="created_at")
    def given(self, feedback):
        return short_datetime(feedback.created_at)
