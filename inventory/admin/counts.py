"""Stock counts in the console (docs/architecture.md, "Stock counts"): the sessions with their
progress, a page to open one, the counter's page (scan or type, blind: the expected figures are never
shown while counting), a blank count sheet to print or fill in and import, the variance report with a
manager's approval, and the count settings."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DecimalField
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, badge, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Inventory, require
from core.spreadsheets.console import SpreadsheetImportMixin
from core.transitions import TransitionRefused

from .. import selectors, services
from ..forms import OpenCountForm, ScanForm
from ..importers import SESSION_COUNT_IMPORT, SessionSheetUploadForm, session_count_sheet, session_count_template
from ..models import CountSession, CountSettings

REFUSALS = (ValidationError, TransitionRefused, PermissionDenied)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(CountSession)
class CountSessionAdmin(SpreadsheetImportMixin, ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    spreadsheet_import = SESSION_COUNT_IMPORT
    import_upload_form = SessionSheetUploadForm
    import_title = _("Import a count sheet")
    import_intro = _(
        "The count sheet of a session, filled in: one row per bin and SKU with the units counted. "
        "Download the blank sheet from the session's page."
    )
    import_preview_columns = (_("Bin"), _("SKU"), _("Counted"))
    import_template = staticmethod(session_count_template)
    list_display = ("session_link", "warehouse", "scope_shown", "state", "progress", "flagged", "opened")
    list_display_links = None
    list_filter = ("status", "warehouse", "scope", "scheduled")
    change_list_template = "admin/inventory/countsession/change_list.html"

    def get_queryset(self, request):
        return selectors.sessions_with_progress()

    @admin.display(description=_("count"), ordering="pk")
    def session_link(self, session):
        return format_html('<a href="{}">{}</a>', self.admin_view_url("page", session.pk), session.number)

    @admin.display(description=_("what is counted"))
    def scope_shown(self, session):
        return session.scope_text

    @admin.display(description=_("status"), ordering="status")
    def state(self, session):
        return badge("count", session.status, session.get_status_display())

    @admin.display(description=_("counted"))
    def progress(self, session):
        return f"{session.counted_count} / {session.line_count}"

    @admin.display(description=_("waiting for approval"), ordering="flagged_count")
    def flagged(self, session):
        return session.flagged_count or "—"

    @admin.display(description=_("opened at"), ordering="created_at")
    def opened(self, session):
        return short_datetime(session.created_at)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_open": request.user.has_perm(Inventory.ADD_COUNTSESSION)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            return redirect(self.admin_view_url("page", int(object_id)))
        except ValueError:
            raise Http404 from None

    def import_parameters(self, cleaned_data):
        return {"session": cleaned_data["session"].pk}

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.new_view), name=self.admin_view_name("new")),
            path("<int:session_id>/page/", view(self.page_view), name=self.admin_view_name("page")),
            path("<int:session_id>/sheet/", view(self.sheet_view), name=self.admin_view_name("sheet")),
            path(
                "<int:session_id>/lines/<int:line_id>/", view(self.set_counted_view), name=self.admin_view_name("set")
            ),
            path("<int:session_id>/finish/", view(self.finish_view), name=self.admin_view_name("finish")),
            path("<int:session_id>/approve/", view(self.approve_view), name=self.admin_view_name("approve")),
            path("<int:session_id>/recount/", view(self.recount_view), name=self.admin_view_name("recount")),
            path("<int:session_id>/cancel/", view(self.cancel_view), name=self.admin_view_name("cancel")),
        ] + super().get_urls()

    def session_or_404(self, session_id):
        session = CountSession.objects.select_related("warehouse").filter(pk=session_id).first()
        if session is None:
            raise Http404(gettext("There is no count %(number)s.") % {"number": session_id})
        return session

    def new_view(self, request):
        require(request.user, Inventory.ADD_COUNTSESSION, gettext("Your role may not open stock counts."))
        form = OpenCountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                session = services.open_count_session(
                    warehouse_id=data["warehouse"].pk,
                    scope=data["scope"],
                    zone=data["zone"],
                    bins=data["bins"],
                    abc_class=data["abc_class"],
                    note=data["note"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, gettext("Count %(number)s opened.") % {"number": session.number})
                return redirect(self.admin_view_url("page", session.pk))
        context = self.page_context(
            request,
            gettext("New stock count"),
            form=form,
            submit_label=gettext("Open the count"),
            cancel_url=self.changelist_url(),
        )
        return TemplateResponse(request, "admin/inventory/countsession/new.html", context)

    def page_view(self, request, session_id):
        """While counting: the scan form and the lines without their expected figures. Once
        counted: the variance report, for those who approve (the counter may have to count again)."""
        require(request.user, Inventory.VIEW_COUNTSESSION, gettext("Your role may not see stock counts."))
        session = self.session_or_404(session_id)
        user = request.user
        counting = session.status == CountSession.Status.COUNTING
        may_count = counting and user.has_perm(Inventory.COUNT_STOCK)
        form = ScanForm(request.POST or None) if may_count else None
        if request.method == "POST":
            if form is None:
                raise PermissionDenied
            if form.is_valid():
                try:
                    line = services.count_by_scan(session.pk, actor=user, **form.cleaned_data)
                except REFUSALS as error:
                    add_service_error(form, error, field_for={"line": "code"})
                else:
                    messages.success(
                        request,
                        gettext("%(sku)s: %(counted)d counted.")
                        % {"sku": line.stock_level.product.sku, "counted": line.counted},
                    )
                    return redirect(self.admin_view_url("page", session.pk))
        may_approve = user.has_perm(Inventory.APPROVE_COUNT)
        shows_report = session.status == CountSession.Status.BOOKED or (
            session.status == CountSession.Status.AWAITING_APPROVAL and may_approve
        )
        context = self.page_context(
            request,
            gettext("Count %(number)s") % {"number": session.number},
            session=session,
            form=form,
            lines=None
            if shows_report
            else [(line, self.admin_view_url("set", session.pk, line.pk)) for line in selectors.blind_lines(session)],
            report=selectors.variance_report(session) if shows_report else None,
            awaiting=session.status == CountSession.Status.AWAITING_APPROVAL,
            may_finish=may_count,
            may_approve=may_approve and session.status == CountSession.Status.AWAITING_APPROVAL,
            may_cancel=counting and user.has_perm(Inventory.ADD_COUNTSESSION),
            may_import=may_count and self.has_import_permission(request),
            opened=short_datetime(session.created_at),
            sheet_url=self.admin_view_url("sheet", session.pk),
            import_url=self.admin_view_url("import"),
            finish_url=self.admin_view_url("finish", session.pk),
            approve_url=self.admin_view_url("approve", session.pk),
            recount_url=self.admin_view_url("recount", session.pk),
            cancel_url=self.admin_view_url("cancel", session.pk),
        )
        return TemplateResponse(request, "admin/inventory/countsession/page.html", context)

    def set_counted_view(self, request, session_id, line_id):
        """Correct one line's count (a unit scanned twice, an empty shelf counted as zero)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        session = self.session_or_404(session_id)
        try:
            counted = int(request.POST.get("counted", ""))
        except ValueError:
            messages.error(request, gettext("Enter the units counted: a whole number, zero or more."))
            return redirect(self.admin_view_url("page", session.pk))

        def correct(session):
            services.set_counted(session.pk, line_id=line_id, counted=counted, actor=request.user)
            return session

        return self._step(request, session_id, correct, lambda session: gettext("Count corrected."))

    def sheet_view(self, request, session_id):
        require(request.user, Inventory.VIEW_COUNTSESSION, gettext("Your role may not see stock counts."))
        session = self.session_or_404(session_id)
        response = HttpResponse(session_count_sheet(session), content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(True, f"count-{session.number}.xlsx")
        return response

    def _step(self, request, session_id, act, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        session = self.session_or_404(session_id)
        try:
            session = act(session)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, done(session))
        return redirect(self.admin_view_url("page", session.pk))

    def finish_view(self, request, session_id):
        def done(session):
            if session.status == CountSession.Status.BOOKED:
                return gettext("Count %(number)s booked.") % {"number": session.number}
            return gettext("Count %(number)s waits for a manager's approval of its large variances.") % {
                "number": session.number
            }

        return self._step(
            request, session_id, lambda session: services.finish_count(session.pk, actor=request.user), done
        )

    def approve_view(self, request, session_id):
        return self._step(
            request,
            session_id,
            lambda session: services.approve_count(session.pk, actor=request.user),
            lambda session: gettext("Count %(number)s approved and booked.") % {"number": session.number},
        )

    def recount_view(self, request, session_id):
        return self._step(
            request,
            session_id,
            lambda session: services.send_back_for_recount(session.pk, actor=request.user),
            lambda session: (
                gettext("The large variances of count %(number)s are to be counted again.") % {"number": session.number}
            ),
        )

    def cancel_view(self, request, session_id):
        return self._step(
            request,
            session_id,
            lambda session: services.cancel_count_session(session.pk, actor=request.user),
            lambda session: gettext("Count %(number)s cancelled.") % {"number": session.number},
        )


@admin.register(CountSettings)
class CountSettingsAdmin(admin.ModelAdmin):
    """One row: how often each ABC class is counted, and the limits above which a manager approves.
    Its list is skipped: the section opens the settings themselves."""

    fieldsets = (
        (_("Schedule"), {"fields": ("a_every_days", "b_every_days", "c_every_days")}),
        (_("Approval"), {"fields": ("approval_above_value", "approval_above_percent")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, DecimalField):
            kwargs.setdefault("min_value", 0)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:inventory_countsettings_change", CountSettings.current().pk)
