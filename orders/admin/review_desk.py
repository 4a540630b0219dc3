"""The review queue's search, filters and stock column, and "Approve and open the next" on a held
order's page (docs/architecture.md, "Finding orders").

The queue's filters travel with the reviewer: each order opened from the queue carries the queue's
query string (`queue=`), and approving with "Approve and open the next" opens the next held order
in the queue's order (oldest first) among the orders those filters show."""

from copy import copy
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.http import HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import refusal_message
from core.permissions import Orders
from core.privacy import sight_of

from .. import selectors, services
from ..models import HeldOrder
from .desk_columns import DeskPageChangeList
from .display import REFUSALS

# Hold reasons by code, as the queue's filter names them (services.checks.MESSAGES says them in full).
HOLD_REASONS = {
    "out_of_stock": _("Not enough stock"),
    "over_channel_share": _("Over the channel's share of stock"),
    "payment_mismatch": _("Paid amount differs"),
    "address_incomplete": _("Address incomplete"),
    "phone_invalid": _("Phone not valid"),
    "region_unknown": _("No such province, city or district"),
    "region_not_in": _("City or district not in the one above"),
    "region_ambiguous": _("District or city found in several places"),
    "unreachable": _("No carrier delivers there"),
    "high_value": _("High value"),
    "new_customer_high_value": _("New customer, high value"),
    "cod_over_limit": _("Cash on delivery over the limit"),
    "repeat_phone": _("Repeat orders to a phone"),
    "repeat_address": _("Repeat orders to an address"),
    "blocked_phone": _("Blocked phone"),
    "blocked_address": _("Blocked address"),
    "channel_held": _("Channel held"),
}
RISK_ONLY = "risk"

# Order value bands of the queue's filter: (code, label, lowest, below).
VALUE_BANDS = [
    ("0-100", _("Under 100"), None, Decimal("100")),
    ("100-500", _("100 to 500"), Decimal("100"), Decimal("500")),
    ("500-2000", _("500 to 2,000"), Decimal("500"), Decimal("2000")),
    ("2000-", _("2,000 and over"), Decimal("2000"), None),
]

# Query parameters of the queue that are not filters: its page and the list's own bookkeeping.
NOT_FILTERS = {"p", "o", "e", "_changelist_filters"}


class ChannelFilter(admin.SimpleListFilter):
    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return [(str(channel.pk), str(channel)) for channel in selectors.channels()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(channel_id=int(value))


class HoldReasonFilter(admin.SimpleListFilter):
    """Held orders with one reason among their reasons. The queue holds only held orders (an
    indexed status), so matching the reasons' text costs a pass over those only."""

    title = _("why it is held")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [*HOLD_REASONS.items(), (RISK_ONLY, _("Risk score only"))]

    def queryset(self, request, queryset):
        code = self.value()
        if code == RISK_ONLY:
            return queryset.filter(hold_reasons=[])
        if code not in HOLD_REASONS:
            return queryset
        # The reasons as JSON text; the code in quotes matches it whatever the database's spacing.
        return queryset.alias(reasons_text=Cast("hold_reasons", TextField())).filter(reasons_text__contains=f'"{code}"')


class ValueFilter(admin.SimpleListFilter):
    title = _("order value")
    parameter_name = "value"

    def lookups(self, request, model_admin):
        return [(code, label) for code, label, _lowest, _below in VALUE_BANDS]

    def queryset(self, request, queryset):
        for code, _label, lowest, below in VALUE_BANDS:
            if self.value() == code:
                if lowest is not None:
                    queryset = queryset.filter(total__gte=lowest)
                if below is not None:
                    queryset = queryset.filter(total__lt=below)
        return queryset


def queue_query(request):
    """The queue's search and filters from its request, without its page, as a query string."""
    params = request.GET.copy()
    for name in NOT_FILTERS:
        params.pop(name, None)
    return params.urlencode()


class ReviewDeskMixin:
    """Mixin for HeldOrderAdmin: search, the page's lines with the stock available for each, and
    the queue's filters carried to the order page."""

    def get_changelist(self, request, **kwargs):
        return DeskPageChangeList

    @staticmethod
    def filter_bar(changelist, request):
        """The queue's filters as a row of choices above the list (a GET form, no script), so the
        list keeps the screen's width: each filter's parameter, its choices and the one chosen."""
        return [
            {
                "title": spec.title,
                "name": spec.parameter_name,
                "choices": [(str(value), str(label)) for value, label in spec.lookup_choices],
                "selected": request.GET.get(spec.parameter_name, ""),
            }
            for spec in changelist.filter_specs
        ]

    def get_search_results(self, request, queryset, search_term):
        sight = sight_of(request.user)
        return selectors.search_orders(queryset, search_term, by_phone=sight.phone, by_name=sight.name), False

    def annotate_page(self, request, orders):
        lines = selectors.lines_of_orders([order.pk for order in orders])
        available = selectors.available_stock({product for rows in lines.values() for *_rest, product in rows})
        query = queue_query(request)
        for order in orders:
            order.desk_lines = [
                (sku, quantity, available.get(product, 0)) for sku, quantity, product in lines[order.pk]
            ]
            order.queue_query = query

    def order_page_url(self, order):
        url = reverse("admin:orders_order_change", args=[order.pk])
        return f"{url}?{urlencode({'queue': order.queue_query})}" if getattr(order, "queue_query", "") else url

    def lines_and_stock(self, order):
        """Each line's SKU and quantity with the units available for it and, in red, how many are
        short (shown under the hold reasons)."""
        rows = []
        for sku, quantity, available in getattr(order, "desk_lines", []):
            short = available < quantity
            rows.append(
                (
                    "oc-stock-short" if short else "oc-stock-ok",
                    f"{sku} ×{quantity}",
                    gettext("%(available)d available") % {"available": available},
                    gettext("short by %(units)d") % {"units": quantity - max(available, 0)} if short else "",
                )
            )
        return format_html(
            '<ul class="oc-stock-lines">{}</ul>',
            format_html_join(
                "",
                '<li class="{}">{}<div><span class="oc-muted">{}</span> <strong>{}</strong></div></li>',
                rows,
            ),
        )


def next_held_order(model_admin, request, after, query):
    """The held order after `after` in the queue's order among those the queue's `query` (its
    search and filters) shows, the first of them when `after` was the last; None when none is left.
    A query the queue no longer understands is dropped rather than refused."""
    queue_admin = model_admin.admin_site._registry[HeldOrder]
    queue_request = copy(request)
    queue_request.GET = QueryDict(query)
    try:
        changelist = queue_admin.get_changelist_instance(queue_request)
    except IncorrectLookupParameters:
        queue_request.GET = QueryDict()
        changelist = queue_admin.get_changelist_instance(queue_request)
    queue = changelist.get_queryset(queue_request).exclude(pk=after.pk)
    later = Q(placed_at__gt=after.placed_at) | Q(placed_at=after.placed_at, pk__gt=after.pk)
    return queue.filter(later).first() or queue.first()


class ApproveNextMixin:
    """Mixin for OrderAdmin: the "Approve and open the next" step of a held order's page."""

    def approve_next_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/approve-and-next/",
                wrap(self.approve_next_view),
                name="orders_order_approve_next",
            )
        ]

    def approve_next_steps(self, request, order, steps):
        """The step after "Approve" when the person may approve this order."""
        if not any(step["name"] == "approve" for step in steps):
            return []
        query = request.GET.get("queue", "")
        action = reverse("admin:orders_order_approve_next", args=[order.pk])
        return [
            {
                "name": "approve_next",
                "label": _("Approve and open the next"),
                "action": f"{action}?{urlencode({'queue': query})}" if query else action,
                "needs_reason": False,
                "style": "primary",
            }
        ]

    def approve_next_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        query = request.GET.get("queue", "")
        suffix = f"?{urlencode({'queue': query})}" if query else ""
        try:
            services.approve(order.pk, actor=request.user, expected_status=request.POST.get("seen_status") or None)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]) + suffix)
        self.message_user(
            request,
            gettext("Order %(number)s is approved.") % {"number": order.number},
            messages.SUCCESS,
        )
        following = next_held_order(self, request, order, query) if request.user.has_perm(Orders.REVIEW_ORDER) else None
        if following is None:
            self.message_user(request, gettext("No more held orders in this queue."), messages.INFO)
            queue_url = reverse("admin:orders_heldorder_changelist")
            return HttpResponseRedirect(f"{queue_url}?{query}" if query else queue_url)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[following.pk]) + suffix)
