"""The console's merge queue ("Orders to merge") and the order list's bulk "Merge" action
(docs/architecture.md, "Merging orders"). Both call orders.services.merge_orders; the page also
unmerges groups that have not reached picking."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import money, refusal_message
from core.permissions import Orders
from core.privacy import sight_of

from .. import selectors, services
from ..models import IntakeSettings, Order
from .display import REFUSALS, contact_for, status_badge

QUEUE_GROUPS = 100


class OrderMergeViews:
    """For OrderAdmin: the merge queue page, its Merge and Unmerge buttons, and the bulk action."""

    def has_merge_permission(self, request):
        return request.user.has_perm(Orders.MERGE_ORDERS)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("merge-queue/", wrap(self.merge_queue_view), name="orders_order_merge_queue"),
            path("merge-queue/merge/", wrap(self.merge_group_view), name="orders_order_merge_group"),
            path(
                "merge-queue/unmerge/<int:merge_id>/", wrap(self.unmerge_group_view), name="orders_order_unmerge_group"
            ),
        ] + super().get_urls()

    def merge_queue_url(self):
        return reverse("admin:orders_order_merge_queue")

    def _rows(self, request, orders, sight):
        return [
            {
                "order": order,
                "url": reverse("admin:orders_order_change", args=[order.pk]),
                "status": status_badge(order),
                "contact": contact_for(request.user, order, sight),
                "total": money(order.total, order.currency),
            }
            for order in orders
        ]

    def merge_queue_view(self, request):
        """Groups of confirmed orders of one buyer to one address, each with a Merge button; then
        the merged groups that can still be unmerged (nothing of them picked yet)."""
        if not request.user.has_perm(Orders.VIEW_ORDER):
            raise PermissionDenied
        across = IntakeSettings.current().merge_across_channels
        sight = sight_of(request.user)
        offered = [
            {"ids": ",".join(map(str, group.order_ids)), "rows": self._rows(request, group.orders, sight)}
            for group in selectors.merge_groups(across_channels=across, limit=QUEUE_GROUPS)
        ]
        merged = [
            {"merge_id": merge_id, "rows": self._rows(request, orders, sight)}
            for merge_id, orders in selectors.merged_before_picking(limit=QUEUE_GROUPS)
        ]
        context = self.page_context(
            request,
            gettext("Orders to merge"),
            offered=offered,
            merged=merged,
            across_channels=across,
            may_merge=self.has_merge_permission(request),
        )
        return TemplateResponse(request, "admin/orders/merging/queue.html", context)

    def _post_only(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_merge_permission(request):
            raise PermissionDenied
        return None

    def merge_group_view(self, request):
        refused = self._post_only(request)
        if refused:
            return refused
        try:
            ids = [int(pk) for pk in request.POST.get("orders", "").split(",") if pk.strip()]
        except ValueError:
            ids = []
        try:
            services.merge_orders(ids, actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            numbers = ", ".join(Order.objects.filter(pk__in=ids).order_by("pk").values_list("number", flat=True))
            self.message_user(
                request, gettext("Merged into one parcel: %(numbers)s.") % {"numbers": numbers}, messages.SUCCESS
            )
        return HttpResponseRedirect(self.merge_queue_url())

    def unmerge_group_view(self, request, merge_id):
        refused = self._post_only(request)
        if refused:
            return refused
        try:
            unmerged = services.unmerge_orders(merge_id, actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("Unmerged: %(numbers)s each leave in a parcel of their own.")
                % {"numbers": ", ".join(order.number for order in unmerged)},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self.merge_queue_url())

    @admin.action(description=_("Merge selected orders into one parcel"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return
        try:
            services.merge_orders([pk for pk, _number in selected], actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("Merged into one parcel: %(numbers)s.")
                % {"numbers": ", ".join(number for _pk, number in selected)},
                messages.SUCCESS,
            )
        return
