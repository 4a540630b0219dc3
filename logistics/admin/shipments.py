"""The shipment list and the shipment page: its lines, the carrier service with the rule that chose
it (which a coordinator may override) and its tracking events. Packing and tracking views come from
the mixins. Shipments are made and moved only by logistics.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ReadOnlyAdminMixin, badge, refusal_message
from core.permissions import Logistics
from orders.admin.actions import BULK_LIMIT
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..exports import ShipmentExportMixin
from ..forms import ServiceChoiceForm
from ..models import Interception, Shipment
from .claims import lost_parcel_context
from .interceptions import ReturnedParcelViews, interception_badge, interception_page
from .packing import PackingViews
from .printing import PrintingViews
from .tracking import TrackingViews, order_page


@admin.register(Shipment)
class ShipmentAdmin(
    ReadOnlyAdminMixin,
    PackingViews,
    PrintingViews,
    TrackingViews,
    ReturnedParcelViews,
    ShipmentExportMixin,
    admin.ModelAdmin,
):
    list_display = (
        "order_link",
        "warehouse",
        "status_badge",
        "service_display",
        "reason",
        "tracking_link",
        "expected_delivery_on",
    )
    list_filter = ("status", "purpose", "carrier", "warehouse", "service_reason")
    search_fields = ("tracking_number", "order__number")
    search_help_text = _("Exact tracking number or order number.")
    list_select_related = ("order", "warehouse", "carrier", "service__carrier")
    show_full_result_count = False
    actions = ["mark_delivered", "print_selected"]
    # The carrier service and why it was chosen have a section of their own below, with the override.
    fields = (
        "order_link",
        "warehouse",
        "purpose",
        "wave_link",
        "status_badge",
        "tracking_link",
        "weight_kg",
        "package_count",
        "shipping_cost",
        "packed_at",
        "packed_by",
        "shipped_at",
        "dispatched_by",
        "expected_delivery_on",
        "delivered_at",
        "received_back_at",
        "received_back_by",
    )
    readonly_fields = fields
    change_form_template = "admin/logistics/shipment/change_form.html"

    def get_queryset(self, request):
        return selectors.shipment_list()

    def get_search_results(self, request, queryset, search_term):
        # Both numbers are matched whole, so the search stays on the indexes however many
        # shipments there are.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(tracking_number=term) | queryset.filter(order__number=term.upper()), False

    @admin.action(description=_("Print slips and labels of selected parcels"))
    def print_selected(self, request, queryset):
        """To the batch page of the chosen parcels, where the paper is chosen and the print made."""
        ids = sorted(queryset.values_list("pk", flat=True)[: BULK_LIMIT + 1])
        if len(ids) > BULK_LIMIT:
            messages.error(
                request, gettext("Choose at most %(limit)s parcels to print at once.") % {"limit": BULK_LIMIT}
            )
            return None
        return redirect(f"{reverse('admin:logistics_shipment_print')}?ids={','.join(map(str, ids))}")

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, shipment):
        return format_html('<a href="{}">{}</a>', order_page(shipment.order_id), shipment.order.number)

    @admin.display(description=_("tracking number"), ordering="tracking_number")
    def tracking_link(self, shipment):
        url = shipment.tracking_url
        if not url:
            return shipment.tracking_number
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, shipment.tracking_number
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, shipment):
        return badge("shipment", shipment.status, shipment.get_status_display())

    @admin.display(description=_("carrier service"), ordering="service__name")
    def service_display(self, shipment):
        return str(shipment.service or shipment.carrier or "—")

    @admin.display(description=_("why this service"), ordering="service_reason")
    def reason(self, shipment):
        if shipment.service_reason:
            return shipment.get_service_reason_display()
        if shipment.service_id is None and shipment.status in Shipment.OPEN:
            return gettext("No active service fits: a coordinator chooses one.")
        return "—"

    @admin.display(description=_("pick list"))
    def wave_link(self, shipment):
        if not shipment.wave_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:logistics_pickwave_print", args=[shipment.wave_id]),
            gettext("Pick list %(id)s") % {"id": shipment.wave_id},
        )

    # The shipment page: lines, the service and why, a coordinator's override, tracking events ---

    def has_choose_carrier_permission(self, request):
        return request.user.has_perm(Logistics.CHOOSE_CARRIER)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:shipment_id>/service/", view(self.choose_service_view), name="logistics_shipment_service"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        try:
            shipment = selectors.shipment_for_page(int(object_id))
        except Shipment.DoesNotExist:
            raise Http404 from None
        service_form = None
        if shipment.status in Shipment.OPEN and self.has_choose_carrier_permission(request):
            service_form = ServiceChoiceForm(shipment=shipment)
        interceptions = list(selectors.interceptions().filter(shipment=shipment).order_by("requested_at", "pk"))
        context = {
            "shipment": shipment,
            "shipment_lines": shipment.lines.all(),
            "tracking_events": shipment.events.all(),
            "service_form": service_form,
            "interceptions": [
                {
                    "interception": interception,
                    "badge": interception_badge(interception),
                    "url": interception_page(interception.pk),
                }
                for interception in interceptions
            ],
            "request_interception_url": (
                reverse("admin:logistics_interception_request", args=[shipment.pk])
                if shipment.status in Shipment.ON_THE_WAY
                and shipment.purpose == Shipment.Purpose.ORDER
                and not any(i.status in Interception.UNDER_WAY for i in interceptions)
                and request.user.has_perm(Logistics.REQUEST_INTERCEPTION)
                else ""
            ),
            "receive_back_url": (
                reverse("admin:logistics_shipment_receive_back", args=[shipment.pk])
                if shipment.status == Shipment.Status.RETURNED
                and shipment.purpose == Shipment.Purpose.ORDER
                and self.has_receive_back_permission(request)
                else ""
            ),
            **lost_parcel_context(request, shipment),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    def choose_service_view(self, request, shipment_id):
        """A coordinator overrides the service the shipping rules chose, before the parcel leaves."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_choose_carrier_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order"), pk=shipment_id)
        form = ServiceChoiceForm(request.POST, shipment=shipment)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
            return redirect("admin:logistics_shipment_change", shipment.pk)
        try:
            shipment = services.choose_carrier(shipment.pk, form.cleaned_data["service"].pk, actor=request.user)
        except REFUSALS as error:
            messages.error(request, f"{form.fields['service'].label}: {refusal_message(error)}")
        else:
            messages.success(
                request,
                gettext("Shipment %(shipment)s now goes with %(service)s.")
                % {"shipment": shipment, "service": shipment.service},
            )
        return redirect("admin:logistics_shipment_change", shipment.pk)
