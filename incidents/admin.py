"""Incidents and the risk register in the console (docs/architecture.md, "Incidents"): the list of
incidents, the declare form, the incident page with its plan's steps, its holds in force, its
timeline and its closing, and the risk register's list and form. Everything changes through
incidents.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, badge, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Incidents

from . import selectors, services
from .forms import (
    CloseForm,
    DeclareForm,
    HoldChannelForm,
    MessageForm,
    MoveWorkForm,
    NoteForm,
    RiskForm,
    SwitchCarrierForm,
    WarehouseForm,
)
from .models import PLANS, Incident, IncidentAction, Risk

Kind = IncidentAction.Kind
REFUSALS = (ValidationError, PermissionDenied, services.IncidentClosed)


def _id(item):
    return item.pk if item is not None else None


# Each step of a plan: its form, and how the form's data calls the service.
STEPS = {
    Kind.HOLD_CHANNEL: (
        HoldChannelForm,
        lambda incident, data, actor: services.hold_channel(incident.pk, data["channel"].pk, actor=actor),
    ),
    Kind.PAUSE_PICKING: (
        WarehouseForm,
        lambda incident, data, actor: services.pause_picking(incident.pk, data["warehouse"].pk, actor=actor),
    ),
    Kind.PAUSE_RESERVATIONS: (
        WarehouseForm,
        lambda incident, data, actor: services.pause_reservations(incident.pk, data["warehouse"].pk, actor=actor),
    ),
    Kind.MOVE_WORK: (
        MoveWorkForm,
        lambda incident, data, actor: services.move_work(
            incident.pk, data["warehouse"].pk, data["to_warehouse"].pk, actor=actor
        ),
    ),
    Kind.SWITCH_CARRIER: (
        SwitchCarrierForm,
        lambda incident, data, actor: services.switch_carrier(
            incident.pk, data["carrier"].pk, data["service"].pk, provinces=data["provinces"], actor=actor
        ),
    ),
    Kind.MESSAGE_CUSTOMERS: (
        MessageForm,
        lambda incident, data, actor: services.message_customers(
            incident.pk,
            scope=data["scope"],
            message=data["message"],
            carrier_id=_id(data["carrier"]),
            warehouse_id=_id(data["warehouse"]),
            channel_id=_id(data["channel"]),
            provinces=data["provinces"],
            actor=actor,
        ),
    ),
    Kind.NOTE: (NoteForm, lambda incident, data, actor: services.add_note(incident.pk, text=data["text"], actor=actor)),
}


def incident_url(incident_id):
    return reverse("admin:incidents_incident_change", args=[incident_id])


def status_badge(incident):
    return badge("incident", incident.status, incident.get_status_display())


@admin.register(Incident)
class IncidentAdmin(ConsolePageMixin, admin.ModelAdmin):
    list_display = ("number", "title", "kind", "status_display", "declared", "declared_by", "closed")
    list_display_links = ("number", "title")
    list_filter = ("status", "kind")
    search_fields = ("number", "title")
    list_per_page = 50
    show_full_result_count = False
    actions = None

    def get_queryset(self, request):
        return selectors.incident_list()

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, incident):
        return status_badge(incident)

    @admin.display(description=_("declared at"), ordering="created_at")
    def declared(self, incident):
        return short_datetime(incident.created_at)

    @admin.display(description=_("closed at"), ordering="closed_at")
    def closed(self, incident):
        return short_datetime(incident.closed_at) if incident.closed_at else "—"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:incident_id>/step/<str:step>/", wrap(self.step_view), name="incidents_incident_step"),
            path(
                "<int:incident_id>/release/<int:action_id>/", wrap(self.release_view), name="incidents_incident_release"
            ),
            path("<int:incident_id>/close/", wrap(self.close_view), name="incidents_incident_close"),
        ] + super().get_urls()

    # Declaring -----------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in Incident.Kind.values else {}
        form = DeclareForm(request.POST if request.method == "POST" else None, initial=initial)
        if form.is_valid():
            try:
                incident = services.declare(actor=request.user, **form.cleaned_data)
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                self.message_user(
                    request,
                    gettext("Incident %(number)s is declared; take the steps of its plan below.")
                    % {"number": incident.number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(incident_url(incident.pk))
        context = {
            **self.page_context(request, gettext("Declare an incident")),
            "form": form,
            "submit_label": gettext("Declare"),
            "cancel_url": self.changelist_url(),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/incidents/incident/add_form.html", context)

    # The incident page ---------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return self.render_incident_page(request, object_id)

    def viewable_incident(self, request, incident_id):
        if not str(incident_id).isdigit():
            raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            return selectors.incident_for_page(int(incident_id))
        except Incident.DoesNotExist:
            raise Http404(gettext("No incident with id %(id)s.") % {"id": incident_id}) from None

    def render_incident_page(self, request, incident_id, bound_step=None, close_form=None):
        incident = self.viewable_incident(request, incident_id)
        user = request.user
        may_act = incident.is_open and user.has_perm(Incidents.ACT_ON_INCIDENT)
        steps = []
        if may_act:
            for kind in [*PLANS[incident.kind], Kind.NOTE]:
                form_class, _run = STEPS[kind]
                form = bound_step[1] if bound_step and bound_step[0] == kind else form_class(prefix=kind)
                steps.append(
                    {
                        "kind": kind,
                        "label": Kind(kind).label,
                        "form": form,
                        "action": reverse("admin:incidents_incident_step", args=[incident.pk, kind]),
                    }
                )
        holds = selectors.holds_in_force(incident)
        context = {
            **self.page_context(request, str(incident)),
            "incident": incident,
            "status_badge": status_badge(incident),
            "steps": steps,
            "holds": [
                {
                    "action": hold,
                    "sentence": selectors.describe(hold),
                    "release_url": reverse("admin:incidents_incident_release", args=[incident.pk, hold.pk]),
                }
                for hold in holds
            ],
            "may_act": may_act,
            "close_form": (
                (close_form or CloseForm()) if incident.is_open and user.has_perm(Incidents.CLOSE_INCIDENT) else None
            ),
            "timeline": selectors.timeline(incident),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/incidents/incident/detail.html", context)

    def step_view(self, request, incident_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self.viewable_incident(request, incident_id)
        if step not in STEPS:
            raise Http404(gettext("Unknown step."))
        form_class, run = STEPS[step]
        form = form_class(request.POST, prefix=step)
        if form.is_valid():
            try:
                action = run(incident, form.cleaned_data, request.user)
            except ValidationError as error:
                add_service_error(form, error)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
                return HttpResponseRedirect(incident_url(incident.pk))
            else:
                self.message_user(request, selectors.describe(action), messages.SUCCESS)
                return HttpResponseRedirect(incident_url(incident.pk))
        return self.render_incident_page(request, incident.pk, bound_step=(step, form))

    def release_view(self, request, incident_id, action_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self.viewable_incident(request, incident_id)
        try:
            action = services.release_hold(incident.pk, action_id, actor=request.user)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(request, selectors.describe(action), messages.SUCCESS)
        return HttpResponseRedirect(incident_url(incident.pk))

    def close_view(self, request, incident_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self.viewable_incident(request, incident_id)
        form = CloseForm(request.POST)
        if form.is_valid():
            try:
                services.close(incident.pk, note=form.cleaned_data["note"], actor=request.user)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Incident %(number)s is closed; everything it held is released.")
                    % {"number": incident.number},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(incident_url(incident.pk))
        return self.render_incident_page(request, incident.pk, close_form=form)


@admin.register(Risk)
class RiskAdmin(ConsolePageMixin, admin.ModelAdmin):
    list_display = ("title", "likelihood", "impact", "score", "owner", "plan_link", "updated_at")
    list_display_links = ("title",)
    list_filter = ("plan",)
    search_fields = ("title",)
    actions = None

    def get_queryset(self, request):
        return selectors.risk_list()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("plan"), ordering="plan")
    def plan_link(self, risk):
        """The plan that answers the risk, linked to declaring an incident of that kind."""
        url = reverse("admin:incidents_incident_add") + "?" + urlencode({"kind": risk.plan})
        return format_html('<a href="{}">{}</a>', url, risk.get_plan_display())

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return self.risk_form_page(request, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        try:
            risk = selectors.risk_list().get(pk=int(object_id))
        except Risk.DoesNotExist:
            raise Http404(gettext("No risk with id %(id)s.") % {"id": object_id}) from None
        if not self.has_change_permission(request, risk):
            raise PermissionDenied
        return self.risk_form_page(request, risk)

    def risk_form_page(self, request, risk):
        initial = (
            {
                "title": risk.title,
                "description": risk.description,
                "likelihood": risk.likelihood,
                "impact": risk.impact,
                "owner": risk.owner_id,
                "plan": risk.plan,
                "response": risk.response,
            }
            if risk
            else {"owner": request.user.pk}
        )
        form = RiskForm(request.POST if request.method == "POST" else None, initial=initial)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["owner_id"] = data.pop("owner").pk
            try:
                saved = services.save_risk(risk.pk if risk else None, actor=request.user, **data)
            except REFUSALS as error:
                add_service_error(form, error, field_for={"owner_id": "owner"})
            else:
                self.message_user(
                    request,
                    gettext("The risk “%(risk)s” is saved with a score of %(score)s.")
                    % {"risk": saved.title, "score": saved.score},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self.changelist_url())
        title = gettext("Change risk") if risk else gettext("Add a risk")
        context = {
            **self.page_context(request, title),
            "form": form,
            "submit_label": gettext("Save"),
            "cancel_url": self.changelist_url(),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/incidents/risk/form.html", context)
