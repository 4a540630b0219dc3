"""Bulk actions on orders: each one calls a service one order at a time and reports every refusal."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.console import ConsolePageMixin, refusal_message
from core.permissions import Orders

from .. import services
from ..forms import ReasonForm
from .display import REFUSALS

BULK_LIMIT = 500
FAILURES_LISTED = 20


class OrderActionsMixin(ConsolePageMixin):
    """Actions and the permissions that show them, for any admin listing orders."""

    def has_review_permission(self, request):
        return request.user.has_perm(Orders.REVIEW_ORDER)

    def has_pick_permission(self, request):
        return request.user.has_perm(Orders.PICK_ORDER)

    def has_cancel_permission(self, request):
        return request.user.has_perm(Orders.CANCEL_ORDER)

    def selected_orders(self, request, queryset):
        """(id, number) of the selected orders, or None with a message when there are too many."""
        selected = list(queryset.order_by("placed_at", "pk").values_list("pk", "number")[: BULK_LIMIT + 1])
        if len(selected) > BULK_LIMIT:
            self.message_user(
                request,
                _("Select at most %(limit)d orders at a time; narrow the list with its filters.")
                % {"limit": BULK_LIMIT},
                messages.ERROR,
            )
            return None
        return selected

    def run_for_each(self, request, selected, step, done_message):
        done, failures = 0, []
        for order_id, number in selected:
            try:
                step(order_id)
            except REFUSALS as error:
                failures.append((number, refusal_message(error)))
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        for number, message in failures[:FAILURES_LISTED]:
            self.message_user(request, f"{number}: {message}", messages.ERROR)
        if len(failures) > FAILURES_LISTED:
            hidden = len(failures) - FAILURES_LISTED
            self.message_user(
                request,
                ngettext("… and %(count)d more order was refused.", "… and %(count)d more orders were refused.", hidden)
                % {"count": hidden},
                messages.ERROR,
            )

    @admin.action(description=_("Approve selected held orders"), permissions=["review"])
    def approve_selected(self, request, queryset):
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return
        self.run_for_each(
            request,
            selected,
            lambda order_id: services.approve(order_id, actor=request.user),
            lambda count: ngettext("%(count)d order approved.", "%(count)d orders approved.", count) % {"count": count},
        )
        return

    @admin.action(description=_("Cancel selected orders…"), permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        return self.with_reason(
            request,
            queryset,
            "cancel_selected",
            services.cancel,
            title=_("Cancel orders"),
            explanation=_("Reserved stock goes back on the shelf, and money already captured becomes a refund owed."),
            button=_("Cancel these orders"),
            done=lambda count: (
                ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.", count) % {"count": count}
            ),
        )

    @admin.action(description=_("Reject selected held orders…"), permissions=["review"])
    def reject_selected(self, request, queryset):
        return self.with_reason(
            request,
            queryset,
            "reject_selected",
            services.reject,
            title=_("Reject held orders"),
            explanation=_("Rejected orders are cancelled; their reserved stock goes back on the shelf."),
            button=_("Reject these orders"),
            done=lambda count: (
                ngettext("%(count)d order rejected.", "%(count)d orders rejected.", count) % {"count": count}
            ),
        )

    @admin.action(description=_("Create pick list…"), permissions=["pick"])
    def create_pick_list(self, request, queryset):
        """The warehouse is chosen on the pick-list page the selected orders are taken to."""
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return None
        orders = ",".join(str(order_id) for order_id, _number in selected)
        return HttpResponseRedirect(f"{reverse('admin:logistics_pickwave_add')}?orders={orders}")

    def with_reason(self, request, queryset, action_name, service, *, title, explanation, button, done):
        """Ask for the reason on a page of its own, then take the step for each selected order."""
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return None
        form = ReasonForm(request.POST if "confirm_reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self.run_for_each(
                request, selected, lambda order_id: service(order_id, actor=request.user, reason=reason), done
            )
            return None
        context = {
            **self.page_context(request, title),
            "explanation": explanation,
            "button": button,
            "form": form,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "order_numbers": [number for _order_id, number in selected],
            "media": self.media,
        }
        return TemplateResponse(request, "admin/orders/order/action_with_reason.html", context)
