"""The order list's items column, and the carrier and tracking number shown under each order's status
(docs/architecture.md, "Finding orders").

A page of orders is read first; then its lines in one query and its parcels in one query through
`orders.order_list_shipping` (logistics answers: orders cannot read parcels), whatever the page's
size. The answers are kept on each order of the page for the columns to show."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import short_datetime

from .. import selectors
from ..events import ORDER_LIST_SHIPPING
from ..models import Order
from .display import status_badge

# How many lines the items column names before "+N more".
ITEMS_SHOWN = 2


def more_items(lines, shown=ITEMS_SHOWN):
    """ "+3 more" for the lines past the first `shown`, or nothing."""
    return gettext("+%(count)d more") % {"count": len(lines) - shown} if len(lines) > shown else ""


def items_text(lines, shown=ITEMS_SHOWN):
    """A-100 ×2, B-7 ×1 +3 more: the first lines' SKU and quantity, then how many lines are left."""
    text = ", ".join(f"{sku} ×{quantity}" for sku, quantity, *_rest in lines[:shown])
    more = more_items(lines, shown)
    return f"{text} {more}" if more else text


class DeskPageChangeList(ChangeList):
    """A change list that, once the page's orders are read, lets its admin add what they show
    besides their own columns (`annotate_page`), in a fixed number of queries per page."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        self.model_admin.annotate_page(request, self.result_list)
        filter_bar = getattr(self.model_admin, "filter_bar", None)
        self.filter_bar = filter_bar(self, request) if filter_bar else []


def ship_by(order, *, in_list=False):
    """The order's ship-by time as the console shows it, marked in words and colour when it has
    passed; nothing for an order without one (docs/architecture.md, "Ship-by deadlines"). In the
    list it says what the time is, as it sits under the placing time."""
    if order.dispatch_due_at is None:
        return ""
    overdue = order.dispatch_overdue
    if in_list:
        words = gettext("Overdue: ship by %(time)s") if overdue else gettext("Ship by %(time)s")
    else:
        words = gettext("%(time)s, overdue") if overdue else "%(time)s"
    # The date and the hour each kept whole: the narrow placing column would break the date at a dash.
    when = format_html_join(
        " ", '<span class="oc-when">{}</span>', ((part,) for part in short_datetime(order.dispatch_due_at).split())
    )
    return format_html(
        '<span class="oc-ship-by{}">{}</span>',
        " oc-overdue" if overdue else "",
        mark_safe(conditional_escape(words) % {"time": when}),
    )


class OrderDeskColumns:
    """Mixin for OrderAdmin: the items column, the carrier and tracking number under the status, and
    the ship-by time under the placing time."""

    def get_changelist(self, request, **kwargs):
        return DeskPageChangeList

    def annotate_page(self, request, orders):
        ids = [order.pk for order in orders]
        lines = selectors.lines_of_orders(ids)
        shipping = {}
        for answer in ORDER_LIST_SHIPPING.publish(order_ids=ids):
            shipping.update(answer or {})
        for order in orders:
            order.desk_lines = lines.get(order.pk, [])
            order.desk_shipping = shipping.get(order.pk, {})

    @admin.display(description=_("items"))
    def items_display(self, order):
        """items_text, a SKU never broken (its quantity may go under it), every line in the tooltip."""
        lines = getattr(order, "desk_lines", [])
        whole = ", ".join(f"{sku} ×{quantity}" for sku, quantity, *_rest in lines)
        shown = format_html_join(
            ", ", '<span class="oc-item">{}</span> ×{}', (line[:2] for line in lines[:ITEMS_SHOWN])
        )
        more = more_items(lines)
        return format_html('<span title="{}">{}{}</span>', whole, shown, f" {more}" if more else "")

    @admin.display(description=_("placed at"), ordering="placed_at")
    def placed(self, order):
        """When it was placed and, until its first parcel leaves, when it must leave by: under the
        placing time, so the list stays within a 1280 px screen (the column keeps its name, and
        its narrow style, from OrderColumns.placed, which other lists of orders show alone)."""
        placed = short_datetime(order.placed_at)
        if order.status not in Order.NOT_DISPATCHED or order.dispatch_due_at is None:
            return placed
        return format_html('{}<div class="oc-ship-by-line">{}</div>', placed, ship_by(order, in_list=True))

    @admin.display(description=_("status"))
    def status_and_shipping(self, order):
        """The status badge and, under it, the carrier and the tracking number of the order's
        parcels: the list stays within a 1280 px screen with its filters beside it."""
        shipping = getattr(order, "desk_shipping", {})
        if not shipping:
            return status_badge(order)
        return format_html(
            '{}<div class="oc-parcel">{}<div class="oc-mono oc-tracking">{}</div></div>',
            status_badge(order),
            shipping.get("carrier", ""),
            shipping.get("tracking", ""),
        )
