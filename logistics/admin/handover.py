"""The handover station (docs/architecture.md, "Handover to the carrier"): a batch per carrier pickup,
parcels scanned into it by the tracking number on their label, the manifest the driver signs
(printed, or as Excel) and the confirmation that dispatches the batch.

A barcode scanner types a whole number and Enter faster than a page reloads, so the scan field is
posted by static/js/handover.js: it queues what is scanned and sends one scan at a time as JSON,
keeping every scan however quickly they come. Without the script the same form is a plain post
answered by a redirect."""

import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, refusal_message, short_datetime
from core.permissions import Logistics, Orders, require
from core.spreadsheets.writing import Format, write_xlsx_sheets
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..models import HandoverBatch


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


@admin.register(HandoverBatch)
class HandoverBatchAdmin(ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    list_display = ("batch_link", "carrier", "parcels", "opened_at", "opened_by", "state")
    list_display_links = None
    list_filter = ("carrier",)
    change_list_template = "admin/logistics/handoverbatch/change_list.html"

    def get_queryset(self, request):
        return selectors.handover_batches()

    @admin.display(description=_("batch"), ordering="pk")
    def batch_link(self, batch):
        return format_html('<a href="{}">{}</a>', self.admin_view_url("station", batch.pk), batch)

    @admin.display(description=_("parcels"), ordering="parcel_count")
    def parcels(self, batch):
        return batch.parcel_count

    @admin.display(description=_("status"), ordering="dispatched_at")
    def state(self, batch):
        if batch.is_open:
            return gettext("Open")
        return gettext("Dispatched %(time)s") % {"time": short_datetime(batch.dispatched_at)}

    def changelist_view(self, request, extra_context=None):
        may_hand_over = request.user.has_perm(Logistics.HAND_OVER_PARCELS)
        extra = {
            "carriers": selectors.carriers_to_hand_over_to() if may_hand_over else [],
            "open_url": self.admin_view_url("open"),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A batch has no form of its own: its page is the station.
        try:
            return redirect(self.admin_view_url("station", int(object_id)))
        except ValueError:
            raise Http404 from None

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("open/", view(self.open_view), name=self.admin_view_name("open")),
            path("<int:batch_id>/station/", view(self.station_view), name=self.admin_view_name("station")),
            path("<int:batch_id>/scan/", view(self.scan_view), name=self.admin_view_name("scan")),
            path("<int:batch_id>/remove/", view(self.remove_view), name=self.admin_view_name("remove")),
            path("<int:batch_id>/confirm/", view(self.confirm_view), name=self.admin_view_name("confirm")),
            path("<int:batch_id>/discard/", view(self.discard_view), name=self.admin_view_name("discard")),
            path("<int:batch_id>/manifest/", view(self.manifest_view), name=self.admin_view_name("manifest")),
            path("<int:batch_id>/manifest.xlsx", view(self.excel_view), name=self.admin_view_name("excel")),
        ] + super().get_urls()

    # The station ---------------------------------------------------------------------------------

    def require_handover(self, request):
        require(request.user, Logistics.HAND_OVER_PARCELS, gettext("Your role may not hand parcels over to carriers."))

    def batch_or_404(self, batch_id):
        try:
            return selectors.handover_batch(batch_id)
        except HandoverBatch.DoesNotExist:
            raise Http404(gettext("There is no handover batch %(number)s.") % {"number": batch_id}) from None

    def open_view(self, request):
        self.require_handover(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            batch = services.open_handover_batch(request.POST.get("carrier") or None, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
            return redirect(self.changelist_url())
        return redirect(self.admin_view_url("station", batch.pk))

    def station_view(self, request, batch_id):
        self.require_handover(request)
        batch = self.batch_or_404(batch_id)
        rows = selectors.manifest_rows(batch)
        context = self.page_context(
            request,
            str(batch),
            batch=batch,
            rows=rows,
            may_confirm=batch.is_open and request.user.has_perm(Orders.DISPATCH_ORDER),
            scan_url=self.admin_view_url("scan", batch.pk),
            remove_url=self.admin_view_url("remove", batch.pk),
            confirm_url=self.admin_view_url("confirm", batch.pk),
            discard_url=self.admin_view_url("discard", batch.pk),
            manifest_url=self.admin_view_url("manifest", batch.pk),
            excel_url=self.admin_view_url("excel", batch.pk),
        )
        return TemplateResponse(request, "admin/logistics/handoverbatch/station.html", context)

    def scan_view(self, request, batch_id):
        """One scan. Answered as JSON for the station's script (the parcel's row to add, or the
        refusal: always 200, since a refused scan is the station working as it should), or with a
        redirect to the station for a plain post."""
        self.require_handover(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        number = request.POST.get("tracking_number", "")
        try:
            parcel = services.scan_into_batch(batch_id, number, actor=request.user)
        except REFUSALS as error:
            if wants_json(request):
                return JsonResponse({"accepted": False, "message": refusal_message(error)})
            messages.error(request, refusal_message(error))
            return redirect(self.admin_view_url("station", batch_id))
        batch = self.batch_or_404(batch_id)
        accepted = gettext("%(number)s (order %(order)s) is in the batch.") % {
            "number": parcel.shipment.tracking_number,
            "order": parcel.shipment.order.number,
        }
        if not wants_json(request):
            messages.success(request, accepted)
            return redirect(self.admin_view_url("station", batch_id))
        row = next(row for row in selectors.manifest_rows(batch) if row.parcel.pk == parcel.pk)
        row_html = render_to_string(
            "admin/logistics/handoverbatch/parcel_row.html",
            {"row": row, "batch": batch, "remove_url": self.admin_view_url("remove", batch.pk)},
            request=request,
        )
        return JsonResponse({"accepted": True, "message": accepted, "row": row_html, "count": batch.parcel_count})

    def remove_view(self, request, batch_id):
        self.require_handover(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            shipment = services.remove_from_batch(batch_id, int(request.POST.get("parcel") or 0), actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(
                request,
                gettext("%(number)s (order %(order)s) is out of the batch.")
                % {"number": shipment.tracking_number, "order": shipment.order.number},
            )
        return redirect(self.admin_view_url("station", batch_id))

    def confirm_view(self, request, batch_id):
        self.require_handover(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            dispatched = services.confirm_batch(batch_id, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d parcel dispatched with %(carrier)s.",
                    "%(count)d parcels dispatched with %(carrier)s.",
                    len(dispatched),
                )
                % {"count": len(dispatched), "carrier": dispatched[0].carrier},
            )
        return redirect(self.admin_view_url("station", batch_id))

    def discard_view(self, request, batch_id):
        self.require_handover(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            freed = services.discard_batch(batch_id, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
            return redirect(self.admin_view_url("station", batch_id))
        messages.success(
            request,
            ngettext(
                "Handover %(number)s is discarded: its %(count)d parcel may go into another batch.",
                "Handover %(number)s is discarded: its %(count)d parcels may go into another batch.",
                len(freed),
            )
            % {"number": batch_id, "count": len(freed)},
        )
        return redirect(self.changelist_url())

    # The manifest --------------------------------------------------------------------------------

    def manifest_batch(self, request, batch_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = self.batch_or_404(batch_id)
        return batch, selectors.manifest_rows(batch)

    def manifest_view(self, request, batch_id):
        """The A4 sheet the driver signs: every parcel they take, with what they collect."""
        batch, rows = self.manifest_batch(request, batch_id)
        context = {
            "title": gettext("Handover manifest %(number)s") % {"number": batch.pk},
            "batch": batch,
            "rows": rows,
            "day": timezone.localtime(batch.dispatched_at or timezone.now()).date(),
            "station_url": self.admin_view_url("station", batch.pk),
            "excel_url": self.admin_view_url("excel", batch.pk),
            "cod_totals": cod_totals(rows),
        }
        return TemplateResponse(request, "admin/logistics/handoverbatch/manifest.html", context)

    def excel_view(self, request, batch_id):
        batch, rows = self.manifest_batch(request, batch_id)
        out = io.BytesIO()
        write_xlsx_sheets([manifest_sheet(batch, rows)], out)
        response = HttpResponse(out.getvalue(), content_type=Format.CONTENT_TYPES[Format.XLSX])
        response["Content-Disposition"] = f'attachment; filename="handover-{batch.pk}-{batch.carrier.code}.xlsx"'
        return response


def cod_totals(rows):
    """The cash the driver collects, per currency (a shop may sell in more than one)."""
    totals = {}
    for row in rows:
        if row.cod_amount:
            totals[row.currency] = totals.get(row.currency, 0) + row.cod_amount
    return sorted(totals.items())


def manifest_sheet(batch, rows):
    """The manifest as (title, headers, rows) for core.spreadsheets.writing.write_xlsx_sheets."""
    headers = [
        gettext("Tracking number"),
        gettext("Orders"),
        gettext("City"),
        gettext("Weight (kg)"),
        gettext("Packages"),
        gettext("Cash on delivery"),
        gettext("Currency"),
    ]
    return (
        gettext("Handover %(number)s") % {"number": batch.pk},
        headers,
        [
            [
                row.shipment.tracking_number,
                ", ".join(row.order_numbers),
                row.city,
                row.weight_kg,
                row.package_count,
                row.cod_amount,
                row.currency,
            ]
            for row in rows
        ],
    )
