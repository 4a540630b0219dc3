"""Interception and parcels that come back in the console (docs/architecture.md, "Interception and
parcels that come back"): the interceptions with the carrier's answer and the queue of failed ones
waiting for a decision, the request from a shipment's page, the interception settings, and the
warehouse's page where a parcel that came back is scanned and each line booked into sellable stock
or quarantine. Every change goes through logistics.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, badge, money, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Inventory, Logistics
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..forms import InterceptionDecisionForm, InterceptionOutcomeForm, InterceptionRequestForm, ParcelBackScanForm
from ..models import Interception, InterceptionSettings, Shipment
from .tracking import order_page, shipment_page


def interception_page(interception_id):
    return reverse("admin:logistics_interception_change", args=[interception_id])


def interception_badge(interception):
    return badge("interception", interception.status, interception.get_status_display())


@admin.register(InterceptionSettings)
class InterceptionSettingsAdmin(admin.ModelAdmin):
    """One row. Its list is skipped: the section opens the settings themselves."""

    fields = ("refund_waits_for_parcel",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:logistics_interceptionsettings_change", InterceptionSettings.current().pk)


class AwaitingDecisionFilter(admin.SimpleListFilter):
    title = _("decision")
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("decision", _("Failed, waiting for a decision"))]

    def queryset(self, request, queryset):
        if self.value() == "decision":
            return queryset.filter(status=Interception.Status.FAILED, decided_at__isnull=True)
        return queryset


@admin.register(Interception)
class InterceptionAdmin(ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    list_display = (
        "parcel",
        "order_link",
        "status_badge",
        "reason",
        "fee_display",
        "requested",
        "answered",
        "next_step",
    )
    list_display_links = None
    list_filter = (AwaitingDecisionFilter, "status", "reason")
    search_fields = ("shipment__tracking_number", "shipment__order__number")
    search_help_text = _("Exact tracking number or order number.")
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.interceptions()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return (
            queryset.filter(shipment__tracking_number=term) | queryset.filter(shipment__order__number=term.upper()),
            False,
        )

    @admin.display(description=_("parcel"), ordering="shipment__tracking_number")
    def parcel(self, interception):
        return format_html('<a href="{}">{}</a>', interception_page(interception.pk), interception.shipment)

    @admin.display(description=_("order"), ordering="shipment__order__number")
    def order_link(self, interception):
        order = interception.shipment.order
        return format_html('<a href="{}">{}</a>', order_page(order.pk), order.number)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, interception):
        return interception_badge(interception)

    @admin.display(description=_("interception fee"), ordering="fee")
    def fee_display(self, interception):
        return money(interception.fee, interception.shipment.order.currency) if interception.fee is not None else "—"

    @admin.display(description=_("requested at"), ordering="requested_at")
    def requested(self, interception):
        return short_datetime(interception.requested_at)

    @admin.display(description=_("answered at"), ordering="answered_at")
    def answered(self, interception):
        return short_datetime(interception.answered_at) if interception.answered_at else "—"

    @admin.display(description=_("what to do next"))
    def next_step(self, interception):
        return next_step(interception)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("request/<int:shipment_id>/", view(self.request_view), name=self.admin_view_name("request")),
            path("<int:interception_id>/outcome/", view(self.outcome_view), name=self.admin_view_name("outcome")),
            path("<int:interception_id>/decision/", view(self.decision_view), name=self.admin_view_name("decision")),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        interception = self.interception_or_404(object_id)
        may_act = request.user.has_perm(Logistics.REQUEST_INTERCEPTION)
        context = self.page_context(
            request,
            str(interception),
            interception=interception,
            status_badge=interception_badge(interception),
            next_step=next_step(interception),
            shipment_url=shipment_page(interception.shipment_id),
            order_url=order_page(interception.shipment.order_id),
            outcome_url=(
                self.admin_view_url("outcome", interception.pk)
                if may_act and interception.status == Interception.Status.REQUESTED
                else ""
            ),
            decision_url=(
                self.admin_view_url("decision", interception.pk) if may_act and interception.awaits_decision else ""
            ),
        )
        return TemplateResponse(request, "admin/logistics/interception/detail.html", context)

    def interception_or_404(self, interception_id):
        try:
            return selectors.interceptions().get(pk=int(interception_id))
        except (Interception.DoesNotExist, ValueError):
            raise Http404 from None

    def require_interception(self, request):
        if not request.user.has_perm(Logistics.REQUEST_INTERCEPTION):
            raise PermissionDenied

    def form_page(self, request, shipment, form, title, *, submit_label, cancel_url):
        context = self.page_context(
            request,
            title,
            shipment=shipment,
            form=form,
            submit_label=submit_label,
            cancel_url=cancel_url,
            order_url=order_page(shipment.order_id),
        )
        return TemplateResponse(request, "admin/logistics/shipment/parcel_form.html", context)

    def request_view(self, request, shipment_id):
        """A coordinator asks the carrier to intercept a parcel on its way."""
        self.require_interception(request)
        shipment = get_object_or_404(Shipment.objects.select_related("order", "carrier", "warehouse"), pk=shipment_id)
        form = InterceptionRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                interception = services.request_interception(shipment.pk, actor=request.user, **form.cleaned_data)
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    gettext("Interception of %(shipment)s requested: tell the carrier and record its answer here.")
                    % {"shipment": shipment},
                )
                return redirect(interception_page(interception.pk))
        return self.form_page(
            request,
            shipment,
            form,
            gettext("Intercept %(shipment)s") % {"shipment": shipment},
            submit_label=gettext("Request interception"),
            cancel_url=shipment_page(shipment.pk),
        )

    def outcome_view(self, request, interception_id):
        self.require_interception(request)
        interception = self.interception_or_404(interception_id)
        form = InterceptionOutcomeForm(
            request.POST or None, initial={"carrier_reference": interception.carrier_reference}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.record_interception_outcome(
                    interception.pk,
                    intercepted=data["outcome"] == "intercepted",
                    fee=data["fee"],
                    carrier_reference=data["carrier_reference"],
                    note=data["note"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error, field_for={"outcome_note": "note"})
            else:
                messages.success(request, gettext("The carrier's answer is recorded."))
                return redirect(interception_page(interception.pk))
        return self.form_page(
            request,
            interception.shipment,
            form,
            gettext("The carrier's answer for %(shipment)s") % {"shipment": interception.shipment},
            submit_label=gettext("Record the answer"),
            cancel_url=interception_page(interception.pk),
        )

    def decision_view(self, request, interception_id):
        self.require_interception(request)
        interception = self.interception_or_404(interception_id)
        form = InterceptionDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.decide_after_failed_interception(
                    interception.pk, decision=form.cleaned_data["decision"], actor=request.user
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("The decision is recorded."))
                return redirect(interception_page(interception.pk))
        return self.form_page(
            request,
            interception.shipment,
            form,
            gettext("After the failed interception of %(shipment)s") % {"shipment": interception.shipment},
            submit_label=gettext("Record the decision"),
            cancel_url=interception_page(interception.pk),
        )


def next_step(interception):
    if interception.status == Interception.Status.REQUESTED:
        return gettext("Record the carrier's answer.")
    if interception.awaits_decision:
        return gettext("Delivered anyway: decide on a return or a refund.")
    if interception.status == Interception.Status.INTERCEPTED:
        if interception.shipment.status == Shipment.Status.RECEIVED_BACK:
            return gettext("Back at the warehouse.")
        return gettext("Coming back: receive it at the warehouse.")
    return interception.decision


class ReturnedParcelViews(ConsolePageMixin):
    """For ShipmentAdmin: the warehouse's page for parcels that came back (scan the tracking number
    or choose the parcel), and the page that books one parcel's lines."""

    def has_receive_back_permission(self, request):
        return request.user.has_perm(Inventory.RECEIVE_STOCK)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("coming-back/", view(self.coming_back_view), name="logistics_shipment_coming_back"),
            path(
                "<int:shipment_id>/receive-back/", view(self.receive_back_view), name="logistics_shipment_receive_back"
            ),
        ] + super().get_urls()

    def coming_back_view(self, request):
        if not self.has_receive_back_permission(request):
            raise PermissionDenied
        form = ParcelBackScanForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            number = form.cleaned_data["tracking_number"].strip()
            parcel = selectors.parcel_to_receive_back(number)
            if parcel is None:
                form.add_error(
                    "tracking_number",
                    gettext("No parcel of ours has the tracking number %(number)s.") % {"number": number},
                )
            elif parcel.status != Shipment.Status.RETURNED:
                form.add_error(
                    "tracking_number",
                    gettext("%(shipment)s (order %(order)s) is %(status)s, not coming back.")
                    % {"shipment": parcel, "order": parcel.order.number, "status": parcel.get_status_display()},
                )
            else:
                return redirect("admin:logistics_shipment_receive_back", parcel.pk)
        parcels = list(selectors.parcels_coming_back()[:200])
        latest = selectors.interceptions_of_parcels(parcel.pk for parcel in parcels)
        context = self.page_context(
            request,
            gettext("Parcels coming back"),
            form=form,
            rows=[
                {
                    "shipment": parcel,
                    "interception": latest.get(parcel.pk),
                    "url": reverse("admin:logistics_shipment_receive_back", args=[parcel.pk]),
                    "order_url": order_page(parcel.order_id),
                }
                for parcel in parcels
            ],
        )
        return TemplateResponse(request, "admin/logistics/shipment/coming_back.html", context)

    def receive_back_view(self, request, shipment_id):
        if not self.has_receive_back_permission(request):
            raise PermissionDenied
        try:
            shipment = selectors.parcel_to_receive(shipment_id)
        except Shipment.DoesNotExist:
            raise Http404 from None
        lines = list(shipment.lines.all())
        errors, entered = {}, {}
        if request.method == "POST":
            counts = {}
            for index, line in enumerate(lines):
                values = []
                for name in ("sellable", "quarantined"):
                    raw = request.POST.get(f"{name}-{line.pk}", "").strip()
                    entered[f"{name}-{line.pk}"] = raw
                    try:
                        values.append(int(raw or "0"))
                    except ValueError:
                        errors[f"lines[{index}].{name}"] = [gettext("Enter a whole number, zero or more.")]
                        values.append(0)
                counts[line.pk] = tuple(values)
            if not errors:
                try:
                    received = services.receive_parcel_back(shipment.pk, counts=counts, actor=request.user)
                except REFUSALS as error:
                    if hasattr(error, "error_dict"):
                        errors = error.message_dict
                    else:
                        messages.error(request, refusal_message(error))
                else:
                    for order in received.closed:
                        messages.success(
                            request,
                            gettext("Order %(number)s is closed as returned; its refund is requested.")
                            % {"number": order.number},
                        )
                    for order in received.still_out:
                        messages.warning(
                            request,
                            gettext("Order %(number)s has other goods still out: it stays %(status)s.")
                            % {"number": order.number, "status": order.get_status_display()},
                        )
                    return redirect("admin:logistics_shipment_coming_back")
        rows = []
        for index, line in enumerate(lines):
            rows.append(
                {
                    "line": line,
                    "sellable": entered.get(f"sellable-{line.pk}", str(line.quantity)),
                    "quarantined": entered.get(f"quarantined-{line.pk}", "0"),
                    "errors": errors.get(f"lines[{index}].sellable", [])
                    + errors.get(f"lines[{index}].quarantined", []),
                }
            )
        line_keys = {f"lines[{index}].{name}" for index in range(len(lines)) for name in ("sellable", "quarantined")}
        context = self.page_context(
            request,
            gettext("Receive %(shipment)s back") % {"shipment": shipment},
            shipment=shipment,
            rows=rows,
            other_errors=[message for key, values in errors.items() if key not in line_keys for message in values],
            order_url=order_page(shipment.order_id),
            cancel_url=reverse("admin:logistics_shipment_coming_back"),
            may_receive=shipment.status == Shipment.Status.RETURNED,
        )
        return TemplateResponse(request, "admin/logistics/shipment/receive_back.html", context)


def order_interceptions_card(request, order):
    """The order page's card (orders.events.ORDER_PAGE_SECTIONS): the interceptions of its parcels,
    flagging one that failed and waits for a return or refund decision."""
    if not request.user.has_perm(Logistics.VIEW_INTERCEPTION):
        return None
    found = selectors.interceptions_of_order(order)
    if not found:
        return None
    return {
        "template": "admin/logistics/order_interceptions.html",
        "interceptions": [
            {
                "interception": interception,
                "badge": interception_badge(interception),
                "url": interception_page(interception.pk),
                "next_step": next_step(interception),
            }
            for interception in found
        ],
        "awaiting_decision": any(interception.awaits_decision for interception in found),
    }
