"""Carriers' cash-on-delivery remittances in the console (docs/architecture.md, "Cash-on-delivery
remittance"): Finance uploads a carrier's file, reads the preview (every line matched, with its
mismatch) and confirms it through the spreadsheet import pipeline; the batch list, each batch's
page with its mismatches, and the mismatches as Excel."""

import io

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin
from core.spreadsheets.console import SpreadsheetImportMixin, UploadForm
from core.spreadsheets.writing import XLSX_CONTENT_TYPE, write_xlsx_sheets

from ..models import Carrier, CodRemittance
from ..remittance_sheet import REMITTANCE_IMPORT, remittance_template


class RemittanceUploadForm(UploadForm):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"),
        queryset=Carrier.objects.order_by("name"),
        help_text=_("The carrier that paid the cash over: its tracking numbers are looked up."),
    )

    field_order = ["carrier", "file"]


def mismatch_sheet(remittance, lines):
    """The batch's lines with a mismatch, as (title, headers, rows) for write_xlsx_sheets."""
    return (
        gettext("Mismatches"),
        [
            gettext("Row"),
            gettext("Tracking number"),
            gettext("Orders"),
            gettext("Amount collected"),
            gettext("Fee"),
            gettext("Date"),
            gettext("Due"),
            gettext("Fee allowed"),
            gettext("Recorded as paid"),
            gettext("Mismatch"),
            gettext("What is wrong"),
        ],
        [
            [
                line.row,
                line.tracking_number,
                line.order_numbers,
                line.amount,
                line.fee,
                line.remitted_on,
                line.due,
                line.fee_allowed,
                gettext("yes") if line.recorded else gettext("no"),
                line.get_problem_display(),
                line.detail,
            ]
            for line in lines
        ],
    )


@admin.register(CodRemittance)
class CodRemittanceAdmin(ReadOnlyAdminMixin, SpreadsheetImportMixin, ConsolePageMixin, admin.ModelAdmin):
    spreadsheet_import = REMITTANCE_IMPORT
    import_title = _("Upload a remittance")
    import_upload_form = RemittanceUploadForm
    import_intro = _(
        "One line per parcel whose cash the carrier paid over. Each line is matched to its parcel: the cash of a "
        "delivered cash-on-delivery parcel is recorded as its orders' payment when the amount is what they owed; "
        "every other line is listed with its mismatch and records nothing. A batch reference is recorded once."
    )
    import_template = staticmethod(remittance_template)
    import_preview_columns = (
        _("Tracking number"),
        _("Orders"),
        _("Amount collected"),
        _("Fee"),
        _("Due"),
        _("Mismatch"),
    )
    ACTIONS = {"new": _("Recorded"), "skip": _("Not recorded")}
    change_list_template = "admin/logistics/codremittance/change_list.html"

    list_display = (
        "reference",
        "carrier",
        "uploaded_at",
        "uploaded_by",
        "line_count",
        "mismatch_count",
        "amount_total",
        "fee_total",
        "recorded_total",
    )
    list_filter = ("carrier",)
    search_fields = ("reference", "file_name")
    list_select_related = ("carrier", "uploaded_by")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:remittance_id>/mismatches.xlsx",
                view(self.mismatches_excel_view),
                name=self.admin_view_name("mismatches"),
            ),
        ] + super().get_urls()

    def remittance_or_404(self, request, remittance_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        remittance = CodRemittance.objects.select_related("carrier", "uploaded_by").filter(pk=remittance_id).first()
        if remittance is None:
            raise Http404(gettext("No remittance %(id)s.") % {"id": remittance_id})
        return remittance

    @staticmethod
    def mismatches_of(remittance):
        return list(remittance.lines.exclude(problem="").order_by("row"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A batch's page: its totals and every line with a mismatch."""
        try:
            remittance = self.remittance_or_404(request, int(object_id))
        except ValueError:
            raise Http404 from None
        mismatches = self.mismatches_of(remittance)
        return TemplateResponse(
            request,
            "admin/logistics/codremittance/detail.html",
            self.page_context(
                request,
                gettext("Remittance %(reference)s · %(carrier)s")
                % {"reference": remittance.reference, "carrier": remittance.carrier},
                remittance=remittance,
                mismatches=mismatches,
                excel_url=self.admin_view_url("mismatches", remittance.pk),
                list_url=self.changelist_url(),
            ),
        )

    def mismatches_excel_view(self, request, remittance_id):
        remittance = self.remittance_or_404(request, remittance_id)
        out = io.BytesIO()
        write_xlsx_sheets([mismatch_sheet(remittance, self.mismatches_of(remittance))], out)
        response = HttpResponse(out.getvalue(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            True, f"remittance-{remittance.carrier.code}-{remittance.reference}-mismatches.xlsx"
        )
        return response

    def import_parameters(self, cleaned_data):
        """The carrier whose parcels the file's lines are matched to: carriers' files do not name it."""
        return {"carrier_id": cleaned_data["carrier"].pk}
