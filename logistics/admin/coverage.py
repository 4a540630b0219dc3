"""Where each carrier service delivers: listed by service and area, uploaded as a sheet (docs/
architecture.md, "Reachability"). Rows are only ever written by the upload, which replaces a
service's whole coverage, so the list is read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.spreadsheets.console import SpreadsheetImportMixin

from ..coverage_sheet import COVERAGE_IMPORT, coverage_template
from ..models import ServiceCoverage


@admin.register(ServiceCoverage)
class ServiceCoverageAdmin(SpreadsheetImportMixin, admin.ModelAdmin):
    spreadsheet_import = COVERAGE_IMPORT
    import_template = staticmethod(coverage_template)
    import_preview_columns = (_("Carrier"), _("Service"), _("Area"), _("Excluded"))
    import_intro = _(
        "One row per area a service delivers to: the carrier's and the service's codes, the province and, for "
        "a smaller area, the city and district; “yes” under excluded for an area inside a covered one that it "
        "does not reach. The file replaces the whole coverage of each service it names; a service with no "
        "rows delivers everywhere."
    )
    change_list_template = "admin/logistics/servicecoverage/change_list.html"

    list_display = ("service", "region", "region_code", "excluded")
    list_filter = ("service__carrier", "service", "excluded")
    search_fields = ("region", "region_code")
    list_select_related = ("service__carrier",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
