"""The review queue: held orders with their reasons, approved or rejected in one click each."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, short_datetime

from .. import selectors
from ..models import HeldOrder
from ..services.checks import describe
from .actions import OrderActionsMixin
from .display import OrderColumns
from .filters import PlacedFilter
from .paginator import CappedCountPaginator
from .review_desk import ChannelFilter, HoldReasonFilter, ReviewDeskMixin, ValueFilter


@admin.register(HeldOrder)
class HeldOrderAdmin(ReviewDeskMixin, ReadOnlyAdminMixin, OrderColumns, OrderActionsMixin, admin.ModelAdmin):
    list_display_links = None
    list_select_related = ("channel", "customer")
    list_per_page = 50
    # Oldest first: the order that has waited longest is reviewed first.
    ordering = ("placed_at", "id")
    sortable_by = ()
    list_filter = (ChannelFilter, HoldReasonFilter, PlacedFilter, ValueFilter)
    search_fields = ("number",)
    search_help_text = _(
        "Order number or part of it, last four digits of the phone, whole phone, start of the recipient's name, "
        "SKU, channel order id or tracking number."
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = ["approve_selected", "reject_selected"]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Review queue"), **(extra_context or {})})

    def get_queryset(self, request):
        return selectors.held_orders()

    def get_list_display(self, request):
        # What the decision rests on comes first and the buttons right after it, so they stay in
        # view on a narrow screen; the rest of the order follows.
        return (
            "order_link",
            "reasons",
            "decision",
            "customer_display",
            self.phone_column(request),
            "total_display",
            "risk_score",
        )

    @admin.display(description=_("order"))
    def order_link(self, order):
        return format_html(
            '<a href="{}">{}</a><div class="oc-order-origin">{}<br>{}</div>',
            self.order_page_url(order),
            order.number,
            short_datetime(order.placed_at),
            order.channel,
        )

    @admin.display(description=_("customer"))
    def customer_display(self, order):
        if order.customer.name == order.recipient:
            return order.recipient
        return format_html('{}<div class="oc-muted">{}</div>', order.recipient, order.customer.name)

    @admin.display(description=_("why it is held"))
    def reasons(self, order):
        # Under the reasons, each line with the stock available for it: a shortage shows before approving.
        if not order.hold_reasons:
            return format_html(
                '<span class="oc-muted">{}</span>{}',
                _("Risk score at the hold threshold."),
                self.lines_and_stock(order),
            )
        return format_html(
            '<ul class="oc-reasons">{}</ul>{}',
            format_html_join("", "<li>{}</li>", ((describe(reason),) for reason in order.hold_reasons)),
            self.lines_and_stock(order),
        )

    @admin.display(description=_("decision"))
    def decision(self, order):
        # The buttons belong to forms outside the list's own form (see the change_list template),
        # because forms cannot nest.
        return format_html(
            '<div class="oc-decision">'
            '<button type="submit" form="approve-{pk}" class="oc-button oc-button-primary">{approve}</button>'
            '<span class="oc-reject">'
            '<input type="text" name="reason" form="reject-{pk}" required maxlength="500" '
            'placeholder="{placeholder}" aria-label="{placeholder}">'
            '<button type="submit" form="reject-{pk}" class="oc-button oc-button-danger">{reject}</button>'
            "</span></div>",
            pk=order.pk,
            approve=_("Approve"),
            reject=_("Reject"),
            placeholder=_("Reason for rejecting"),
        )

    def has_view_permission(self, request, obj=None):
        return self.has_review_permission(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))
