"""The order list's items, carrier and tracking columns (docs/architecture.md, "Finding orders").

A page of orders is read first; then its lines in one query and its parcels in one query through
`orders.order_list_shipping` (logistics answers: orders cannot read parcels), whatever the page's
size. The answers are kept on each order of the page for the columns to show."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..events import ORDER_LIST_SHIPPING

# How many lines the items column names before "+N more".
ITEMS_SHOWN = 2


def items_text(lines, shown=ITEMS_SHOWN):
    """A-100 ×2, B-7 ×1 +3 more: the first lines' SKU and quantity, then how many lines are left."""
    text = ", ".join(f"{sku} ×{quantity}" for sku, quantity, *_rest in lines[:shown])
    if len(lines) > shown:
        text += " " + gettext("+%(count)d more") % {"count": len(lines) - shown}
    return text


class DeskPageChangeList(ChangeList):
    """A change list that, once the page's orders are read, lets its admin add what they show
    besides their own columns (`annotate_page`), in a fixed number of queries per page."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        self.model_admin.annotate_page(request, self.result_list)


class OrderDeskColumns:
    """Mixin for OrderAdmin: the items, carrier and tracking columns."""

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
        lines = getattr(order, "desk_lines", [])
        whole = ", ".join(f"{sku} ×{quantity}" for sku, quantity, *_rest in lines)
        return format_html('<span title="{}">{}</span>', whole, items_text(lines))

    @admin.display(description=_("carrier"))
    def carrier_display(self, order):
        return getattr(order, "desk_shipping", {}).get("carrier", "")

    @admin.display(description=_("tracking number"))
    def tracking_display(self, order):
        return getattr(order, "desk_shipping", {}).get("tracking", "")
