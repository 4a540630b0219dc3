"""The order list's tabs: one per group of orders an operator works by, each with how many orders
it holds under the list's other filters, counted no further than a cap (docs/architecture.md,
"The order list at volume"). A tab is one line of ORDER_TABS: a status, or a queue that depends
on the time ("Due today", "Overdue")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin
from django.db.models import Q
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .. import selectors
from ..models import Order

Status = Order.Status
# Tabs are glanced at: past a thousand, "1,000+" says enough, and nine counts stay cheap at a
# million orders (each reads at most this many entries of an index).
TAB_COUNT_CAP = 1_000
# The list's own filters a tab replaces: the tab and the status filter.
REPLACED_BY_A_TAB = {"tab", "status__exact", "status__isnull"}


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    # The orders it holds, as a Q over Order (built when asked: a queue may depend on the time);
    # None for all orders.
    condition: Callable[[], Q] | None


def statuses(*values: str) -> Callable[[], Q]:
    """The orders in these statuses: read through the status index (order_by_status)."""
    return lambda: Q(status__in=values)


ORDER_TABS = [
    Tab("all", _("All"), None),
    # Ship-by queues, read through the partial index order_dispatch_due (docs/architecture.md,
    # "Ship-by deadlines"); first, as what must leave today comes before the rest.
    Tab("due_today", _("Due today"), selectors.dispatch_due_today),
    # Its own context: "Overdue" elsewhere means a parcel late to arrive, not an order late to leave.
    Tab("overdue", pgettext_lazy("order list tab: past the ship-by time", "Overdue"), selectors.dispatch_overdue),
    Tab("awaiting_payment", _("Awaiting payment"), statuses(Status.AWAITING_PAYMENT)),
    Tab("review", _("To review"), statuses(Status.ON_HOLD)),
    Tab("confirmed", _("Confirmed"), statuses(Status.CONFIRMED)),
    Tab("picking", _("Picking"), statuses(Status.PICKING)),
    Tab("packed", _("Packed"), statuses(Status.PACKED)),
    Tab("shipped", _("Shipped"), statuses(Status.PARTIALLY_SHIPPED, Status.SHIPPED)),
    Tab("delivered", _("Delivered"), statuses(Status.DELIVERED, Status.COMPLETED)),
    Tab("cancelled", _("Cancelled"), statuses(Status.CANCELLED)),
    Tab("returned", _("Returned"), statuses(Status.RETURNED)),
]


def tab_named(key: str | None) -> Tab | None:
    return next((tab for tab in ORDER_TABS if tab.key == key and tab.condition is not None), None)


class TabFilter(admin.SimpleListFilter):
    """The current tab, as the list's `tab` parameter; drawn as the tabs above the list, not in the
    filter column."""

    title = _("tab")
    parameter_name = "tab"
    template = "admin/orders/order/no_filter.html"

    def lookups(self, request, model_admin):
        return [(tab.key, tab.label) for tab in ORDER_TABS if tab.condition is not None]

    def queryset(self, request, queryset):
        tab = tab_named(self.value())
        return queryset if tab is None else queryset.filter(tab.condition())


def capped(count: int | None, cap: int) -> str:
    """A count as the list shows it: "1,000+" past the cap, nothing when it was not counted."""
    if count is None:
        return ""
    if count > cap:
        return f"{number_format(cap, force_grouping=True)}+"
    return number_format(count, force_grouping=True)


def tab_rows(model_admin, request, changelist) -> list[dict]:
    """Each tab with its link (the list's other filters and search kept) and its capped count: one
    query per tab, each through the tab's index, or two in all for a searched or filtered list of
    at most TAB_COUNT_CAP orders (selectors.counts_up_to), so a search runs twice, not once per tab;
    a search finding more leaves the tabs uncounted."""
    base = changelist.root_queryset
    for spec in changelist.filter_specs:
        if REPLACED_BY_A_TAB & set(spec.expected_parameters()):
            continue
        narrowed = spec.queryset(request, base)
        if narrowed is not None:
            base = narrowed
    base, _duplicates = model_admin.get_search_results(request, base, changelist.query)
    conditions = {tab.key: None if tab.condition is None else tab.condition() for tab in ORDER_TABS}
    # A search that finds more than the cap leaves its tabs uncounted: counting a term over each
    # status reads every order it finds (a SKU in 30,000 orders: 10 x 15 ms at 1,000,000 orders),
    # and "1,000+" of a search says little; a filter's tabs read indexes and stay counted.
    counts = selectors.counts_up_to(base, conditions, TAB_COUNT_CAP, count_each_past_cap=not changelist.query)
    current = tab_named(request.GET.get("tab"))
    status_chosen = bool(request.GET.get("status__exact"))
    rows = []
    for tab in ORDER_TABS:
        rows.append(
            {
                "key": tab.key,
                "label": tab.label,
                "count": capped(counts[tab.key], TAB_COUNT_CAP),
                "url": changelist.get_query_string(
                    new_params={"tab": None if tab.condition is None else tab.key, "status__exact": None, "p": None}
                ),
                "current": (tab is current) or (current is None and tab.condition is None and not status_chosen),
            }
        )
    return rows
