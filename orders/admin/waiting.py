"""The console's side of orders that wait (docs/architecture.md, "Orders that wait"): holding
orders by hand and releasing them, from the order list (bulk) and the order page, and the list's
filter of orders held by hand. Awaiting payment is a status: the list's status filter shows it."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import refusal_message
from core.forms import add_service_error
from core.permissions import Orders

from .. import services
from ..models import Order
from .display import REFUSALS

FAILURES_LISTED = 20


class HoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=Order._meta.get_field("manual_hold_reason").max_length,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": _("Shown on the order and when it is refused a pick list")}
        ),
    )
    until = forms.DateTimeField(
        label=_("Release by itself at"),
        required=False,
        help_text=_("Optional. Empty: held until someone releases it."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class ManualHoldFilter(admin.SimpleListFilter):
    title = _("held by hand")
    parameter_name = "manual_hold"

    def lookups(self, request, model_admin):
        return [("yes", _("Held by hand")), ("no", _("Not held by hand"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(manual_hold_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(manual_hold_at__isnull=True)
        return queryset


class OrderWaitingMixin:
    """Hold and release, for OrderAdmin (with OrderActionsMixin, whose `selected_orders` it uses)."""

    def has_hold_permission(self, request):
        return request.user.has_perm(Orders.HOLD_ORDER)

    def waiting_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/hold/", wrap(self.hold_view), name=self.admin_view_name("hold")),
            path("<path:object_id>/release/", wrap(self.release_view), name=self.admin_view_name("release")),
        ]

    def report_holds(self, request, outcome, done_message):
        if outcome.done:
            self.message_user(request, done_message(len(outcome.done)), messages.SUCCESS)
        refused = list(outcome.refused.values())
        for message in refused[:FAILURES_LISTED]:
            self.message_user(request, message, messages.ERROR)
        if len(refused) > FAILURES_LISTED:
            hidden = len(refused) - FAILURES_LISTED
            self.message_user(
                request,
                ngettext("… and %(count)d more order was refused.", "… and %(count)d more orders were refused.", hidden)
                % {"count": hidden},
                messages.ERROR,
            )

    @staticmethod
    def held_message(count):
        return ngettext("%(count)d order held.", "%(count)d orders held.", count) % {"count": count}

    @staticmethod
    def released_message(count):
        return ngettext("%(count)d order released.", "%(count)d orders released.", count) % {"count": count}

    @admin.action(description=_("Hold selected orders…"), permissions=["hold"])
    def hold_selected(self, request, queryset):
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return None
        form = HoldForm(request.POST if "confirm_hold" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                outcome = services.hold_orders(
                    [order_id for order_id, _number in selected],
                    reason=form.cleaned_data["reason"],
                    until=form.cleaned_data["until"],
                    actor=request.user,
                )
            except ValidationError as error:
                add_service_error(form, error)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
                return None
            else:
                self.report_holds(request, outcome, self.held_message)
                return None
        context = {
            **self.page_context(request, gettext("Hold orders")),
            "form": form,
            "action_name": "hold_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "order_numbers": [number for _order_id, number in selected],
            "media": self.media,
        }
        return TemplateResponse(request, "admin/orders/waiting/hold.html", context)

    @admin.action(description=_("Release selected held orders"), permissions=["hold"])
    def release_selected(self, request, queryset):
        selected = self.selected_orders(request, queryset)
        if selected is None:
            return
        try:
            outcome = services.release_orders([order_id for order_id, _number in selected], actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.report_holds(request, outcome, self.released_message)

    # The order page ------------------------------------------------------------------------------

    def manual_hold_context(self, request, order):
        """The order page's hold card: the hold, and the form or button this user may use."""
        may = request.user.has_perm(Orders.HOLD_ORDER)
        return {
            "held": order.is_manually_held,
            "reason": order.manual_hold_reason,
            "until": order.manual_hold_until,
            "at": order.manual_hold_at,
            "by": order.manual_hold_by,
            "hold_url": self.admin_view_url("hold", order.pk)
            if may and not order.is_manually_held and order.status in Order.BEFORE_PICKING
            else "",
            "release_url": self.admin_view_url("release", order.pk) if may and order.is_manually_held else "",
            "form": HoldForm(),
            "pay_by": self.pay_by(order),
        }

    @staticmethod
    def pay_by(order):
        """When an order awaiting payment is cancelled if still unpaid (its channel's limit), or None."""
        minutes = order.channel.payment_time_limit_minutes
        if order.status != Order.Status.AWAITING_PAYMENT or minutes is None:
            return None
        return (order.received_at or order.placed_at) + timedelta(minutes=minutes)

    def hold_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        form = HoldForm(request.POST)
        if form.is_valid():
            try:
                outcome = services.hold_orders(
                    [order.pk], reason=form.cleaned_data["reason"], until=form.cleaned_data["until"], actor=request.user
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
            else:
                self.report_holds(request, outcome, lambda _count: gettext("Order held."))
        else:
            for errors in form.errors.values():
                self.message_user(request, " ".join(errors), messages.ERROR)
        return self.back_to_order(request, order.pk)

    def release_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        try:
            outcome = services.release_orders([order.pk], actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.report_holds(request, outcome, lambda _count: gettext("Hold released."))
        return self.back_to_order(request, order.pk)
