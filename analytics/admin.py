"""The dashboard's console views. The dashboard itself is the admin index (templates/admin/index.html);
here are its Excel downloads, one per table, made with the filters the page was showing."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

from core.console import ReadOnlyAdminMixin
from core.permissions import Analytics

from . import dashboard
from .excel import workbook
from .forms import DashboardFilterForm
from .models import DailyOrders

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_see_dashboard(user):
    """Business and staff figures are for managers (and superusers, who hold every permission)."""
    return user.is_active and user.has_perm(Analytics.VIEW_DASHBOARD)


@admin.register(DailyOrders)
class DashboardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Carries the dashboard's URLs; the rollup rows themselves are not a list anyone edits."""

    def get_model_perms(self, request):
        return {}

    def get_urls(self):
        return [
            path(
                "export/<slug:table>/", self.admin_site.admin_view(self.export_view), name="analytics_dashboard_export"
            ),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        return HttpResponseRedirect(reverse("admin:index"))

    def export_view(self, request, table):
        if not may_see_dashboard(request.user):
            raise PermissionDenied(_("Only managers may download the dashboard's figures."))
        if table not in dashboard.TABLE_KEYS:
            raise Http404(_("The dashboard has no table called “%(table)s”.") % {"table": table})
        form = DashboardFilterForm(request.GET)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                for error in errors:
                    messages.error(request, f"{label}: {error}" if label else error)
            return HttpResponseRedirect(reverse("admin:index") + "?" + request.GET.urlencode())
        filters = form.filters()
        section = dashboard.build(filters, keys=[table]).sections[table]
        response = HttpResponse(workbook(section.table, subtitle=dashboard.describe(filters)), content_type=XLSX)
        filename = f"dashboard-{table}-{filters.period.start.isoformat()}-{filters.period.end.isoformat()}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
