"""The Excel import of orders in the console: upload a file, read the dry run's preview (orders to
create, orders already imported, every error with its row and column), confirm, and follow a large
file's progress on a page the operator may leave and come back to. Past imports are listed."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin

from .. import importers
from ..importers import reading, workbooks
from ..importers.columns import COLUMNS_BY_KEY
from ..models import BulkJob, Order
from ..services.checks import describe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}
# Larger uploads are refused before they are read: 200,000 rows of an order file are about 15 MB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ERRORS_SHOWN = 500
RECENT_IMPORTS = 5
LISTED_IMPORTS = 100
PHASES = {
    "reading": _("Reading the file…"),
    "placing": _("Checking and placing orders…"),
}
FINISHED = (BulkJob.Status.PREVIEWED, BulkJob.Status.DONE, BulkJob.Status.FAILED)


def task_module():
    """The import tasks. Defining a task sets up the task backend, so the module is imported when
    first used rather than while Django starts (tests choose their backend after that)."""
    from ..tasks import imports

    return imports


class OrderImportForm(forms.Form):
    file = forms.FileField(
        label=_("Excel or CSV file"),
        help_text=_("One row per order line, with the template's columns; English or Chinese headers."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
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


class OrderImportMixin(ConsolePageMixin):
    """Adds the order import pages to the order list's admin."""

    import_permission = importers.PERMISSION

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="orders_order_import"),
            path("import/template/", wrap(self.import_template_view), name="orders_order_import_template"),
            path("import/history/", wrap(self.import_history_view), name="orders_order_import_history"),
            path("import/<int:job_id>/", wrap(self.import_job_view), name="orders_order_import_job"),
            path("import/<int:job_id>/status/", wrap(self.import_status_view), name="orders_order_import_status"),
            path("import/<int:job_id>/confirm/", wrap(self.import_confirm_view), name="orders_order_import_confirm"),
            path("import/<int:job_id>/errors/", wrap(self.import_errors_view), name="orders_order_import_errors"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": request.user.has_perm(self.import_permission)}
        return super().changelist_view(request, extra_context)

    def require_import_permission(self, request):
        if not request.user.has_perm(self.import_permission):
            raise PermissionDenied

    def import_job(self, request, job_id):
        self.require_import_permission(request)
        job = BulkJob.objects.filter(pk=job_id, kind=BulkJob.Kind.IMPORT_ORDERS).select_related("created_by").first()
        if job is None:
            raise Http404(gettext("No order import %(id)s.") % {"id": job_id})
        return job

    def import_page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/orders/import/{template}",
            {
                **self.page_context(request, title),
                "upload_url": reverse("admin:orders_order_import"),
                "template_url": reverse("admin:orders_order_import_template"),
                "history_url": reverse("admin:orders_order_import_history"),
                **context,
            },
        )

    def import_view(self, request):
        self.require_import_permission(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        form = OrderImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = importers.start_order_import(file_name=upload.name, content=upload.read(), actor=request.user)
            task_module().start_check(job)
            return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))
        recent = BulkJob.objects.filter(kind=BulkJob.Kind.IMPORT_ORDERS).select_related("created_by")[:RECENT_IMPORTS]
        return self.import_page(
            request,
            "upload.html",
            gettext("Import orders from Excel"),
            form=form,
            is_upload_page=True,
            recent=[self.import_row(job) for job in recent],
            background_rows=importers.background_rows(),
        )

    def import_template_view(self, request):
        self.require_import_permission(request)
        response = HttpResponse(workbooks.template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(True, "order-import-template.xlsx")
        return response

    @staticmethod
    def import_row(job):
        """A past import as the lists show it: the job, its page (order imports have one) and its outcome."""
        url = reverse("admin:orders_order_import_job", args=[job.pk]) if job.kind == BulkJob.Kind.IMPORT_ORDERS else ""
        summary = job.summary or {}
        created, skipped, errors = summary.get("to_create", 0), summary.get("skipped", 0), summary.get("errors", 0)
        if job.kind != BulkJob.Kind.IMPORT_ORDERS:
            outcome = ""
        elif job.status == BulkJob.Status.DONE:
            outcome = ngettext(
                "%(created)s order created, %(skipped)s skipped",
                "%(created)s orders created, %(skipped)s skipped",
                created,
            ) % {"created": created, "skipped": skipped}
        elif job.status == BulkJob.Status.FAILED and errors:
            outcome = ngettext("%(count)s error", "%(count)s errors", errors) % {"count": errors}
        elif job.status == BulkJob.Status.PREVIEWED:
            outcome = ngettext("%(count)s order to create", "%(count)s orders to create", created) % {"count": created}
        else:
            outcome = ""
        return {"job": job, "url": url, "outcome": outcome}

    def import_history_view(self, request):
        kinds = [BulkJob.Kind.IMPORT_ORDERS, BulkJob.Kind.IMPORT_PRODUCTS, BulkJob.Kind.IMPORT_STOCK]
        self.require_import_permission(request)
        listed = BulkJob.objects.filter(kind__in=kinds).select_related("created_by")[:LISTED_IMPORTS]
        return self.import_page(
            request, "history.html", gettext("Past imports"), imports=[self.import_row(job) for job in listed]
        )

    def import_job_view(self, request, job_id):
        job = self.import_job(request, job_id)
        summary = job.summary or {}
        headers = summary.get("headers", {})
        errors = [
            {
                **error,
                "column": headers.get(error["column"])
                or (COLUMNS_BY_KEY[error["column"]].label if error["column"] in COLUMNS_BY_KEY else ""),
            }
            for error in job.errors[:ERRORS_SHOWN]
        ]
        may_confirm = job.status == BulkJob.Status.PREVIEWED and summary.get("to_create", 0) > 0
        return self.import_page(
            request,
            "job.html",
            gettext("Order import: %(file)s") % {"file": job.file_name},
            job=job,
            summary=summary,
            finished=job.status in FINISHED,
            phase=PHASES.get(job.parameters.get("phase", "")),
            errors=errors,
            errors_hidden=max(summary.get("errors", len(job.errors)) - len(errors), 0),
            # A dry run's order numbers were rolled back with everything else: only real ones are shown.
            created=[
                self.described(order, placed=job.status == BulkJob.Status.DONE) for order in summary.get("created", [])
            ],
            skipped=[self.described(order, placed=True) for order in summary.get("skipped_orders", [])],
            status_url=reverse("admin:orders_order_import_status", args=[job.pk]),
            confirm_url=reverse("admin:orders_order_import_confirm", args=[job.pk]) if may_confirm else "",
            errors_url=reverse("admin:orders_order_import_errors", args=[job.pk]) if job.errors else "",
            orders_url=reverse("admin:orders_order_changelist"),
        )

    @staticmethod
    def described(order, *, placed):
        """An order of the file for the tables: its status and hold reasons in the reader's language,
        and a link to it when it exists."""
        return {
            **order,
            "status_label": Order.Status(order["status"]).label,
            "reasons": [describe(reason) for reason in order["reasons"]],
            "search_url": f"{reverse('admin:orders_order_changelist')}?{urlencode({'q': order['number']})}"
            if placed
            else "",
        }

    def import_status_view(self, request, job_id):
        """What the progress page polls: small, so it can be asked every second."""
        job = self.import_job(request, job_id)
        return JsonResponse(
            {
                "status": job.status,
                "status_label": str(job.get_status_display()),
                "phase_label": str(PHASES.get(job.parameters.get("phase", ""), "")),
                "processed": job.processed,
                "total": job.total,
                "percent": job.progress_percent,
                "finished": job.status in FINISHED,
            }
        )

    def import_confirm_view(self, request, job_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        queued = importers.confirm_order_import(job.pk, actor=request.user)
        if queued is None:
            self.message_user(request, gettext("This import cannot be confirmed (again)."), level="warning")
        else:
            task_module().start_import(queued)
        return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))

    def import_errors_view(self, request, job_id):
        job = self.import_job(request, job_id)
        if not job.errors:
            raise Http404(gettext("This import has no errors."))
        content, file_name = workbooks.errors_copy(job)
        response = HttpResponse(content, content_type=CONTENT_TYPES[reading.file_format(job.file_name)])
        response["Content-Disposition"] = content_disposition_header(True, file_name)
        return response
