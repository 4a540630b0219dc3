"""The Excel import of orders in the console: upload a file, read the dry run's preview (orders to
create, orders already imported, every error with its row and column), confirm, and follow a large
file's progress on a page the operator may leave and come back to. Past imports are listed."""

from django import forms
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core import jobs
from core.console import ConsolePageMixin
from core.permissions import Orders, require
from core.spreadsheets import problems, reading
from core.spreadsheets.console import ERRORS_SHOWN, RECENT_IMPORTS, UploadForm, import_outcome, job_status_response
from core.spreadsheets.writing import XLSX_CONTENT_TYPE, Format
from inventory.importers import PRODUCT_IMPORT, STOCK_COUNT_IMPORT

from .. import importers
from ..importers import workbooks
from ..importers.columns import ORDER_COLUMNS
from ..models import Channel, Order
from ..services.checks import describe

LISTED_IMPORTS = 100
PHASES = {
    "reading": _("Reading the file…"),
    "placing": _("Checking and placing orders…"),
}
# The imports the past imports list, with the page of each kind's jobs.
IMPORT_PAGES = {
    importers.KIND: "admin:orders_order_import_job",
    PRODUCT_IMPORT.kind: "admin:inventory_product_import_job",
    STOCK_COUNT_IMPORT.kind: "admin:inventory_stocklevel_import_job",
}


def task_module():
    """The import tasks. Defining a task sets up the task backend, so the module is imported when
    first used rather than while Django starts (tests choose their backend after that)."""
    from ..tasks import imports

    return imports


class OrderImportForm(UploadForm):
    file = forms.FileField(
        label=_("Excel or CSV file"),
        help_text=_(
            "Our template, a marketplace's order report (Taobao/Tmall, JD, Pinduoduo, Douyin) or any other "
            "workbook: columns the console does not know are mapped once and remembered for the channel."
        ),
    )
    items_file = forms.FileField(
        label=_("Items report (optional)"),
        required=False,
        help_text=_("Where the marketplace exports its orders and their items in two files, the second one."),
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.filter(active=True),
        required=False,
        help_text=_("Where the orders come from. Not needed for our template, which names the channel on each row."),
    )

    def clean_items_file(self):
        upload = self.cleaned_data.get("items_file")
        return self.clean_upload(upload) if upload else None


class OrderImportMixin(ConsolePageMixin):
    """Adds the order import pages to the order list's admin."""

    import_permission = Orders.ADD_ORDER

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="orders_order_import"),
            path("import/template/", wrap(self.import_template_view), name="orders_order_import_template"),
            path("import/history/", wrap(self.import_history_view), name="orders_order_import_history"),
            path("import/<int:job_id>/", wrap(self.import_job_view), name="orders_order_import_job"),
            path("import/<int:job_id>/status/", wrap(self.import_status_view), name="orders_order_import_status"),
            path("import/<int:job_id>/confirm/", wrap(self.import_confirm_view), name="orders_order_import_confirm"),
            path("import/<int:job_id>/retry/", wrap(self.import_retry_view), name="orders_order_import_retry"),
            path("import/<int:job_id>/cancel/", wrap(self.import_cancel_view), name="orders_order_import_cancel"),
            path("import/<int:job_id>/errors/", wrap(self.import_errors_view), name="orders_order_import_errors"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": request.user.has_perm(self.import_permission)}
        return super().changelist_view(request, extra_context)

    def require_import_permission(self, request):
        require(request.user, self.import_permission)

    def import_job(self, request, job_id):
        self.require_import_permission(request)
        job = jobs.job_of(job_id, [importers.KIND])
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
            upload, items = form.cleaned_data["file"], form.cleaned_data["items_file"]
            job = importers.start_order_import(
                file_name=upload.name,
                content=upload.read(),
                actor=request.user,
                channel=form.cleaned_data["channel"],
                more_files=[(items.name, items.read())] if items else [],
            )
            if importers.needs_mapping(job):
                return HttpResponseRedirect(reverse("admin:orders_order_import_map", args=[job.pk]))
            task_module().start_check(job)
            return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))
        recent = jobs.jobs_of([importers.KIND])[:RECENT_IMPORTS]
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
        response = HttpResponse(workbooks.template_workbook(), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(True, "order-import-template.xlsx")
        return response

    @staticmethod
    def import_row(job):
        """A past import as the lists show it: the job, its kind, its page and its outcome."""
        kind = next(kind for kind in IMPORT_PAGES if kind.code == job.kind)
        summary = job.summary or {}
        created, skipped = summary.get("to_create", 0), summary.get("skipped", 0)
        if kind != importers.KIND or job.status == jobs.Status.FAILED:
            outcome = import_outcome(job)
        elif job.status == jobs.Status.DONE:
            outcome = ngettext(
                "%(created)s order created, %(skipped)s skipped",
                "%(created)s orders created, %(skipped)s skipped",
                created,
            ) % {"created": created, "skipped": skipped}
        elif job.status == jobs.Status.PREVIEWED:
            outcome = ngettext("%(count)s order to create", "%(count)s orders to create", created) % {"count": created}
        else:
            outcome = ""
        return {"job": job, "kind": kind.label, "url": reverse(IMPORT_PAGES[kind], args=[job.pk]), "outcome": outcome}

    def import_history_view(self, request):
        self.require_import_permission(request)
        listed = jobs.jobs_of(list(IMPORT_PAGES))[:LISTED_IMPORTS]
        return self.import_page(
            request, "history.html", gettext("Past imports"), imports=[self.import_row(job) for job in listed]
        )

    def import_job_view(self, request, job_id):
        job = self.import_job(request, job_id)
        summary = job.summary or {}
        errors = problems.named(job.errors[:ERRORS_SHOWN], summary.get("headers", {}), ORDER_COLUMNS)
        may_confirm = job.status == jobs.Status.PREVIEWED and summary.get("to_create", 0) > 0
        return self.import_page(
            request,
            "job.html",
            gettext("Order import: %(file)s") % {"file": job.file_name},
            job=job,
            summary=summary,
            finished=job.status in jobs.FINISHED,
            phase=PHASES.get(job.parameters.get("phase", "")),
            errors=errors,
            errors_hidden=max(summary.get("errors", len(job.errors)) - len(errors), 0),
            # A dry run's order numbers were rolled back with everything else: only real ones are shown.
            created=[
                self.described(order, placed=job.status == jobs.Status.DONE) for order in summary.get("created", [])
            ],
            skipped=[self.described(order, placed=True) for order in summary.get("skipped_orders", [])],
            status_url=reverse("admin:orders_order_import_status", args=[job.pk]),
            confirm_url=reverse("admin:orders_order_import_confirm", args=[job.pk]) if may_confirm else "",
            stale=jobs.is_stale(job),
            retry_url=reverse("admin:orders_order_import_retry", args=[job.pk]) if jobs.may_retry(job) else "",
            cancel_url=reverse("admin:orders_order_import_cancel", args=[job.pk]) if jobs.may_cancel(job) else "",
            errors_url=reverse("admin:orders_order_import_errors", args=[job.pk])
            if job.errors and job.files_discarded_at is None
            else "",
            files_discarded=jobs.discarded_message() if job.files_discarded_at else "",
            orders_url=reverse("admin:orders_order_changelist"),
            mapping_url=reverse("admin:orders_order_import_map", args=[job.pk]) if importers.needs_mapping(job) else "",
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
        job = self.import_job(request, job_id)
        return job_status_response(job, PHASES.get(job.parameters.get("phase", ""), ""))

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

    def import_retry_view(self, request, job_id):
        """Check the job's kept file again from the start: a fresh preview to confirm."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        queued = importers.retry_order_import(job.pk, actor=request.user)
        if queued is None:
            self.message_user(
                request, gettext("This import is under way or finished; it cannot be retried."), "warning"
            )
        else:
            task_module().start_check(queued)
            self.message_user(request, gettext("The file is checked again; confirm the new preview to import it."))
        return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))

    def import_cancel_view(self, request, job_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.import_job(request, job_id)
        cancelled = importers.cancel_order_import(job.pk, actor=request.user)
        if cancelled is None:
            self.message_user(
                request, gettext("This import has finished already; there is nothing to cancel."), "warning"
            )
        elif cancelled.status == jobs.Status.RUNNING:
            self.message_user(request, gettext("The import stops at its next progress check and keeps nothing."))
        else:
            self.message_user(request, gettext("The import was cancelled before it started."))
        return HttpResponseRedirect(reverse("admin:orders_order_import_job", args=[job.pk]))

    def import_errors_view(self, request, job_id):
        job = self.import_job(request, job_id)
        if not job.errors:
            raise Http404(gettext("This import has no errors."))
        if job.files_discarded_at is not None:
            raise Http404(jobs.discarded_message())
        content, file_name = workbooks.errors_copy(job)
        response = HttpResponse(content, content_type=Format.CONTENT_TYPES[reading.file_format(job.file_name)])
        response["Content-Disposition"] = content_disposition_header(True, file_name)
        return response
