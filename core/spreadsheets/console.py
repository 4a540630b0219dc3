"""The console pages every spreadsheet import and export shares, as mixins for a ModelAdmin.

`ExportMixin` adds the "Export" form to a list: the rows the list shows with its filters, search and
sorting (every page of them), as Excel or CSV; small exports are answered at once, larger ones run
in the background and the job page follows them to a download link.

`SpreadsheetImportMixin` adds an import that previews before it writes (`core.spreadsheets.imports`):
upload a file, read the preview (every row with what it will do, or every problem with its row and
column), confirm, and find the import again among the past ones."""

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
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import jobs
from ..console import ConsolePageMixin
from . import exports, imports, problems, reading
from .writing import XLSX_CONTENT_TYPE, Format, csv_chunks, spooled_file, write_xlsx

RECENT_JOBS = 20
RECENT_IMPORTS = 5
ERRORS_SHOWN = 500
# Larger uploads are refused before they are read: 200,000 rows of an order file are about 15 MB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def background_above_rows():
    """Exports of more rows than this are written in the background, not while the operator waits."""
    return getattr(settings, "EXPORT_BACKGROUND_ABOVE_ROWS", 5_000)


# --- exports -----------------------------------------------------------------------------------


class ExportForm(forms.Form):
    file_format = forms.ChoiceField(label=_("Format"), choices=Format.CHOICES, initial=Format.XLSX)
    kind = forms.ChoiceField(label=_("Rows"))

    def __init__(self, *args, offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = {export.kind.code: export for export in offered}
        self.fields["kind"].choices = [(export.kind.code, export.label) for export in offered]
        self.fields["kind"].initial = offered[0].kind.code
        if len(offered) == 1:
            self.fields["kind"].widget = forms.HiddenInput()

    @property
    def export(self):
        return self.offered[self.cleaned_data["kind"]]


class ExportMixin(ConsolePageMixin):
    """Adds export views to a ModelAdmin whose list can be exported. `exports` lists the Exports the
    list offers (orders: one row per order or per line), the first being the default. The list's
    template shows the form with `{% include "admin/spreadsheets/export/form.html" %}`."""

    exports = ()

    @property
    def media(self):
        return super().media + forms.Media(css={"all": ["css/export.css"]})

    @property
    def export_kinds(self):
        return [export.kind for export in self.exports]

    def offered_exports(self, request):
        return [export for export in self.exports if request.user.has_perm(export.permission)]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name=self.admin_view_name("export")),
            path("export/<int:job_id>/", wrap(self.export_job_view), name=self.admin_view_name("export_job")),
            path(
                "export/<int:job_id>/download/",
                wrap(self.export_download_view),
                name=self.admin_view_name("export_download"),
            ),
            path("export/<int:job_id>/retry/", wrap(self.export_retry_view), name=self.admin_view_name("export_retry")),
            path(
                "export/<int:job_id>/cancel/", wrap(self.export_cancel_view), name=self.admin_view_name("export_cancel")
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
                "export_action": self.admin_view_url("export") + (f"?{query}" if query else ""),
                "export_jobs_url": self.admin_view_url("export"),
                "export_limit": background_above_rows(),
            }
        return super().changelist_view(request, extra_context)

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
        if table.more_rows_than(limit):
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
            return HttpResponseRedirect(self.admin_view_url("export_job", job.pk))
        file_name = export.file_name(file_format)
        # At most EXPORT_BACKGROUND_ABOVE_ROWS rows here, so counting them first is cheap, and the
        # log holds the export even if the download is broken off.
        exports.record_export(table, request.user, rows=table.count(), file_name=file_name)
        return self.export_response(table, file_name, file_format)

    @staticmethod
    def export_response(table, file_name, file_format):
        content_type = Format.CONTENT_TYPES[file_format]
        if file_format == Format.CSV:
            response = StreamingHttpResponse(csv_chunks(table), content_type=content_type)
            response["Content-Disposition"] = content_disposition_header(True, file_name)
            return response
        out = spooled_file()
        write_xlsx(table, out)
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=file_name, content_type=content_type)

    def own_export_job(self, request, job_id):
        """The user's own export job: an export holds what its creator was allowed to see, so
        nobody else may follow or download it."""
        job = jobs.job_of(job_id, self.export_kinds, user=request.user)
        if job is None:
            raise Http404(gettext("No export %(id)s of yours.") % {"id": job_id})
        return job

    def export_job_view(self, request, job_id):
        return self.render_export_page(request, job=self.own_export_job(request, job_id))

    def render_export_page(self, request, *, job):
        running = job is not None and job.status in (jobs.Status.QUEUED, jobs.Status.RUNNING)
        context = {
            **self.page_context(request, jobs.kind_label(job, self.export_kinds) if job else gettext("Your exports")),
            "job": job,
            "refresh_seconds": 2 if running else None,
            "download_url": self.admin_view_url("export_download", job.pk)
            if job and job.status == jobs.Status.DONE and job.files_discarded_at is None
            else "",
            "files_discarded": jobs.discarded_message() if job and job.files_discarded_at else "",
            "export_jobs_url": self.admin_view_url("export"),
            "stale": job is not None and jobs.is_stale(job),
            "retry_url": self.admin_view_url("export_retry", job.pk) if job and jobs.may_retry(job) else "",
            "cancel_url": self.admin_view_url("export_cancel", job.pk) if job and jobs.may_cancel(job) else "",
            "list_url": self.changelist_url(job.parameters.get("list_query", "")) if job else self.changelist_url(),
            "recent_jobs": [
                (other, self.admin_view_url("export_job", other.pk))
                for other in jobs.jobs_of(self.export_kinds, user=request.user)[:RECENT_JOBS]
            ],
        }
        return TemplateResponse(request, "admin/spreadsheets/export/job.html", context)

    def export_retry_view(self, request, job_id):
        """Write a failed, cancelled or stale export again, from the list's query kept in its job."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.own_export_job(request, job_id)
        if exports.retry_export(exports.export_of_kind(job.kind), job.pk, actor=request.user) is None:
            messages.warning(request, gettext("This export is under way or finished; it cannot be written again."))
        return HttpResponseRedirect(self.admin_view_url("export_job", job.pk))

    def export_cancel_view(self, request, job_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.own_export_job(request, job_id)
        if exports.cancel_export(exports.export_of_kind(job.kind), job.pk, actor=request.user) is None:
            messages.warning(request, gettext("This export has finished already; there is nothing to cancel."))
        return HttpResponseRedirect(self.admin_view_url("export_job", job.pk))

    def export_download_view(self, request, job_id):
        job = self.own_export_job(request, job_id)
        if job.status != jobs.Status.DONE:
            raise Http404(gettext("This export has no file yet."))
        if job.files_discarded_at is not None:
            raise Http404(jobs.discarded_message())
        file_format = job.parameters["format"]
        response = HttpResponse(jobs.result_file(job.pk), content_type=Format.CONTENT_TYPES[file_format])
        response["Content-Disposition"] = content_disposition_header(True, job.file_name)
        return response


# --- imports -----------------------------------------------------------------------------------


class UploadForm(forms.Form):
    """A spreadsheet to import: refused here when it is of another type or too large to read."""

    file = forms.FileField(label=_("Excel or CSV file"))

    def clean_file(self):
        return self.clean_upload(self.cleaned_data["file"])

    @staticmethod
    def clean_upload(upload):
        try:
            reading.file_format(upload.name)
        except reading.UnreadableFile as error:
            raise forms.ValidationError(str(error)) from None
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(max)s MB; split it into several files.")
                % {"max": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


def job_status_response(job, phase_label=""):
    """What a background job's page polls for its progress: small, so it can be asked every second
    (static/js/import_progress.js)."""
    return JsonResponse(
        {
            "status": job.status,
            "status_label": str(job.get_status_display()),
            "phase_label": str(phase_label),
            "processed": job.processed,
            "total": job.total,
            "percent": job.progress_percent,
            "finished": job.status in jobs.FINISHED,
        }
    )


def import_outcome(job):
    """What a finished import of any kind came to, for the lists of past imports: its errors."""
    errors = (job.summary or {}).get("errors", 0)
    if job.status == jobs.Status.FAILED and errors:
        return ngettext("%(count)s error", "%(count)s errors", errors) % {"count": errors}
    return ""


class SpreadsheetImportMixin(ConsolePageMixin):
    """Adds an import of `spreadsheet_import` (a SpreadsheetImport whose summary counts rows by
    what they do: "new", "update", "skip", and lists them under "preview") to a ModelAdmin. The
    check and the import run while the operator waits, or by a worker for a file of more than
    IMPORT_BACKGROUND_ROWS rows, the job page following its progress (`import_phases` names what
    it is doing). `import_preview_columns` heads the preview's cells; `import_template` makes the
    template to download."""

    spreadsheet_import = None
    import_title = _("Import from Excel")
    import_intro = ""
    # The upload form: the file, and whatever else the import needs to read it (import_parameters).
    import_upload_form = None
    import_preview_columns = ()
    import_template = None
    import_phases = {"reading": _("Reading the file…")}

    ACTIONS = {"new": _("New"), "update": _("Changed"), "skip": _("Unchanged")}

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name=self.admin_view_name("import")),
            path("import/template/", wrap(self.import_template_view), name=self.admin_view_name("import_template")),
            path("import/<int:job_id>/", wrap(self.import_job_view), name=self.admin_view_name("import_job")),
            path(
                "import/<int:job_id>/status/", wrap(self.import_status_view), name=self.admin_view_name("import_status")
            ),
            path(
                "import/<int:job_id>/confirm/",
                wrap(self.import_confirm_view),
                name=self.admin_view_name("import_confirm"),
            ),
            path(
                "import/<int:job_id>/errors/", wrap(self.import_errors_view), name=self.admin_view_name("import_errors")
            ),
            path("import/<int:job_id>/retry/", wrap(self.import_retry_view), name=self.admin_view_name("import_retry")),
            path(
                "import/<int:job_id>/cancel/", wrap(self.import_cancel_view), name=self.admin_view_name("import_cancel")
            ),
        ] + super().get_urls()

    def has_import_permission(self, request):
        return request.user.has_perm(self.spreadsheet_import.permission)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def require_import_permission(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied

    def import_job(self, request, job_id):
        self.require_import_permission(request)
        job = jobs.job_of(job_id, [self.spreadsheet_import.kind])
        if job is None:
            raise Http404(gettext("No import %(id)s.") % {"id": job_id})
        return job

    def import_page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/spreadsheets/import/{template}",
            {
                **self.page_context(request, title),
                "upload_url": self.admin_view_url("import"),
                "template_url": self.admin_view_url("import_template"),
                **context,
            },
        )

    def import_row(self, job):
        return {
            "job": job,
            "kind": self.spreadsheet_import.kind.label,
            "url": self.admin_view_url("import_job", job.pk),
            "outcome": import_outcome(job),
        }

    def import_view(self, request):
        """GET: the upload form. POST: check the file and show its preview."""
        self.require_import_permission(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        form = (self.import_upload_form or UploadForm)(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            spec = self.spreadsheet_import
            job = imports.start(
                spec,
                file_name=upload.name,
                content=upload.read(),
                actor=request.user,
                parameters=self.import_parameters(form.cleaned_data),
            )
            imports.start_check(spec, job)
            return HttpResponseRedirect(self.admin_view_url("import_job", job.pk))
        recent = jobs.jobs_of([self.spreadsheet_import.kind])[:RECENT_IMPORTS]
        return self.import_page(
            request,
            "upload.html",
            str(self.import_title),
            form=form,
            intro=self.import_intro,
            columns=list(self.spreadsheet_import.columns),
            recent=[self.import_row(job) for job in recent],
            background_rows=imports.background_rows(),
        )

    def import_parameters(self, cleaned_data):
        """What the import needs besides the file, from the upload form's other fields."""
        return

    def import_template_view(self, request):
        self.require_import_permission(request)
        response = HttpResponse(self.import_template(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            True, f"{self.opts.model_name}-import-template.xlsx"
        )
        return response

    def import_job_view(self, request, job_id):
        job = self.import_job(request, job_id)
        summary = job.summary or {}
        columns = self.spreadsheet_import.columns
        errors = problems.named(job.errors[:ERRORS_SHOWN], summary.get("headers", {}), columns)
        may_confirm = job.status == jobs.Status.PREVIEWED and self.spreadsheet_import.ready(summary)
        return self.import_page(
            request,
            "job.html",
            gettext("Import: %(file)s") % {"file": job.file_name},
            job=job,
            kind=self.spreadsheet_import.kind.label,
            summary=summary,
            errors=errors,
            errors_hidden=max(summary.get("errors", len(job.errors)) - len(errors), 0),
            finished=job.status in jobs.FINISHED,
            phase=self.import_phases.get(job.parameters.get("phase", ""), ""),
            status_url=self.admin_view_url("import_status", job.pk),
            preview_columns=self.import_preview_columns,
            preview=[
                {**row, "action_label": self.ACTIONS.get(row["action"], "")} for row in summary.get("preview", [])
            ],
            confirm_url=self.admin_view_url("import_confirm", job.pk) if may_confirm else "",
            errors_url=self.admin_view_url("import_errors", job.pk)
            if job.errors and job.files_discarded_at is None
            else "",
            stale=jobs.is_stale(job),
            files_discarded=jobs.discarded_message() if job.files_discarded_at else "",
            retry_url=self.admin_view_url("import_retry", job.pk) if jobs.may_retry(job) else "",
            cancel_url=self.admin_view_url("import_cancel", job.pk) if jobs.may_cancel(job) else "",
            list_url=self.changelist_url(),
        )

    def import_retry_view(self, request, job_id):
        """Check the job's kept file again from the start: a fresh preview to confirm."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        queued = imports.retry(self.spreadsheet_import, job.pk, actor=request.user)
        if queued is None:
            messages.warning(request, gettext("This import is under way or finished; it cannot be retried."))
        else:
            imports.start_check(self.spreadsheet_import, queued)
        return HttpResponseRedirect(self.admin_view_url("import_job", job.pk))

    def import_status_view(self, request, job_id):
        job = self.import_job(request, job_id)
        return job_status_response(job, self.import_phases.get(job.parameters.get("phase", ""), ""))

    def import_cancel_view(self, request, job_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        if imports.cancel(self.spreadsheet_import, job.pk, actor=request.user) is None:
            messages.warning(request, gettext("This import has finished already; there is nothing to cancel."))
        return HttpResponseRedirect(self.admin_view_url("import_job", job.pk))

    def import_confirm_view(self, request, job_id):
        """Import the checked file, all rows or none."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        queued = imports.confirm(self.spreadsheet_import, job.pk, actor=request.user)
        if queued is None:
            messages.warning(request, gettext("This import cannot be confirmed (again)."))
            return HttpResponseRedirect(self.admin_view_url("import_job", job.pk))
        imports.start_run(self.spreadsheet_import, queued)
        done = jobs.job_of(job.pk, [self.spreadsheet_import.kind])
        if done.status == jobs.Status.FAILED and done.parameters.get("stage") == imports.IMPORT:
            failed = sorted({error["row"] for error in done.errors if error["row"]})
            messages.error(
                request,
                gettext(
                    "Nothing was imported: rows %(rows)s fail now, though the preview passed them. "
                    "Upload the file again to see why."
                )
                % {"rows": ", ".join(map(str, failed)) or "—"},
            )
            return HttpResponseRedirect(self.admin_view_url("import"))
        return HttpResponseRedirect(self.admin_view_url("import_job", job.pk))

    def import_errors_view(self, request, job_id):
        job = self.import_job(request, job_id)
        if not job.errors:
            raise Http404(gettext("This import has no errors."))
        if job.files_discarded_at is not None:
            raise Http404(jobs.discarded_message())
        content, file_name = problems.errors_copy(job, self.spreadsheet_import.columns)
        response = HttpResponse(content, content_type=Format.CONTENT_TYPES[reading.file_format(job.file_name)])
        response["Content-Disposition"] = content_disposition_header(True, file_name)
        return response
