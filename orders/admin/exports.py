"""The "Export" form of a console list: the rows the list shows with its filters, search and
sorting (every page of them), as Excel or CSV. Small exports are answered at once; larger ones
run in the background, and the job page follows them to a download link."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin

from .. import exports, selectors
from ..models import BulkJob

RECENT_JOBS = 20


def background_above_rows():
    """Exports of more rows than this are written in the background, not while the operator waits."""
    return getattr(settings, "EXPORT_BACKGROUND_ABOVE_ROWS", 5_000)


class ExportForm(forms.Form):
    file_format = forms.ChoiceField(label=_("Format"), choices=exports.Format.CHOICES, initial=exports.Format.XLSX)
    kind = forms.ChoiceField(label=_("Rows"))

    def __init__(self, *args, offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {export.kind: export for export in offered}
        self.fields["kind"].choices = [(export.kind, export.label) for export in offered]
        self.fields["kind"].initial = offered[0].kind
        if len(offered) == 1:
            self.fields["kind"].widget = forms.HiddenInput()

    @property
    def export(self):
        return self.offered[self.cleaned_data["kind"]]


class ExportMixin(ConsolePageMixin):
    """Adds export views to a ModelAdmin whose list can be exported. `exports` lists the Export
    kinds the list offers (orders: one row per order or per line), the first being the default.
    The list's template shows the form with `{% include "admin/orders/export/form.html" %}`."""

    exports = ()

    @property
    def media(self):
        return super().media + forms.Media(css={"all": ["css/export.css"]})

    def offered_exports(self, request):
        return [export for export in self.exports if request.user.has_perm(export.permission)]

    def admin_url_name(self, view):
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def export_url(self, view, *args):
        return reverse(f"admin:{self.admin_url_name(view)}", args=args, current_app=self.admin_site.name)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name=self.admin_url_name("export")),
            path("export/<int:job_id>/", wrap(self.export_job_view), name=self.admin_url_name("export_job")),
            path(
                "export/<int:job_id>/download/",
                wrap(self.export_download_view),
                name=self.admin_url_name("export_download"),
            ),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        offered = self.offered_exports(request)
        if offered:
            query = request.GET.urlencode()
            extra_context = {
                **(extra_context or {}),
                "export_form": ExportForm(offered=offered),
                # The export reads the list's filters, search and sorting from its own query string.
                "export_action": self.export_url("export") + (f"?{query}" if query else ""),
                "export_jobs_url": self.export_url("export"),
                "export_limit": background_above_rows(),
            }
        return super().changelist_view(request, extra_context)

    def changelist_url(self, query=""):
        url = reverse(f"admin:{self.admin_url_name('changelist')}", current_app=self.admin_site.name)
        return f"{url}?{query}" if query else url

    def export_view(self, request):
        """GET: the user's recent exports from this list. POST: export what the list shows."""
        offered = self.offered_exports(request)
        if not offered:
            raise PermissionDenied
        if request.method == "GET":
            return self.render_export_page(request, job=None)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        back = self.changelist_url(request.GET.urlencode())
        form = ExportForm(request.POST, offered=offered)
        if not form.is_valid():
            messages.error(request, gettext("Choose a format and which rows to export."))
            return HttpResponseRedirect(back)
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, gettext("The list's filters could not be read; nothing was exported."))
            return HttpResponseRedirect(self.changelist_url())
        export, file_format = form.export, form.cleaned_data["file_format"]
        table = exports.ExportTable(export, changelist.queryset, request.user)
        limit = background_above_rows()
        if selectors.count_up_to(table.queryset, limit) > limit:
            job = exports.start_export(
                export,
                changelist.queryset,
                file_format=file_format,
                actor=request.user,
                list_query=request.GET.urlencode(),
            )
            messages.info(
                request,
                ngettext(
                    "More than %(limit)s row: the file is written in the background. This page shows how far "
                    "it has got; you may leave it and come back from the list's Export menu.",
                    "More than %(limit)s rows: the file is written in the background. This page shows how far "
                    "it has got; you may leave it and come back from the list's Export menu.",
                    limit,
                )
                % {"limit": number_format(limit, force_grouping=True)},
            )
            return HttpResponseRedirect(self.export_url("export_job", job.pk))
        return self.export_response(table, export.file_name(file_format), file_format)

    @staticmethod
    def export_response(table, file_name, file_format):
        content_type = exports.Format.CONTENT_TYPES[file_format]
        if file_format == exports.Format.CSV:
            response = StreamingHttpResponse(exports.csv_chunks(table), content_type=content_type)
            response["Content-Disposition"] = content_disposition_header(True, file_name)
            return response
        out = exports.spooled_file()
        exports.write_xlsx(table, out)
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=file_name, content_type=content_type)

    def own_export_job(self, request, job_id):
        kinds = [export.kind for export in self.exports]
        job = exports.export_job(job_id, user=request.user, kinds=kinds)
        if job is None:
            raise Http404(gettext("No export %(id)s of yours.") % {"id": job_id})
        return job

    def export_job_view(self, request, job_id):
        return self.render_export_page(request, job=self.own_export_job(request, job_id))

    def render_export_page(self, request, *, job):
        kinds = [export.kind for export in self.exports]
        running = job is not None and job.status in (BulkJob.Status.QUEUED, BulkJob.Status.RUNNING)
        context = {
            **self.page_context(request, job.get_kind_display() if job else gettext("Your exports")),
            "job": job,
            "refresh_seconds": 2 if running else None,
            "download_url": self.export_url("export_download", job.pk)
            if job and job.status == BulkJob.Status.DONE
            else "",
            "export_jobs_url": self.export_url("export"),
            "list_url": self.changelist_url(job.parameters.get("list_query", "")) if job else self.changelist_url(),
            "recent_jobs": [
                (other, self.export_url("export_job", other.pk))
                for other in exports.recent_export_jobs(user=request.user, kinds=kinds, limit=RECENT_JOBS)
            ],
        }
        return TemplateResponse(request, "admin/orders/export/job.html", context)

    def export_download_view(self, request, job_id):
        job = self.own_export_job(request, job_id)
        if job.status != BulkJob.Status.DONE:
            raise Http404(gettext("This export has no file yet."))
        file_format = job.parameters["format"]
        response = HttpResponse(exports.export_file(job.pk), content_type=exports.Format.CONTENT_TYPES[file_format])
        response["Content-Disposition"] = content_disposition_header(True, job.file_name)
        return response
