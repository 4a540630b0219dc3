"""Complaint tickets in the console: the list with its overdue queue, the new-ticket form (on its
own or from an order's page), the ticket page where staff talk to the customer, note, assign and
take the ticket's steps, and the order page's card of its complaints and feedback. Tickets change
only through aftersales.services.tickets."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from core.console import ConsolePageMixin, badge, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Aftersales
from core.privacy import Sight, record_view, sight_of
from core.transitions import transition_label
from orders.admin.display import REFUSALS
from orders.admin.order import admin_url
from orders.models import Order

from ..forms.tickets import AssignForm, NoteForm, ReopenForm, ReplyForm, ResolveForm, SeverityForm, TicketForm
from ..models import Ticket
from ..selectors import tickets as selectors
from ..services import tickets as services

# The steps of a ticket, in the order they are offered: (service, style).
STEPS = {
    "start": (services.start, "primary"),
    "resume": (services.resume, "primary"),
    "wait_for_customer": (services.wait_for_customer, "plain"),
    "resolve": (services.resolve, "primary"),
    "reopen": (services.reopen, "danger"),
    "close": (services.close, "primary"),
}
# The log's entries that are not a change of status.
EVENT_TITLES = {
    "open": _("Opened"),
    "assign": _("Assigned"),
    "change_severity": _("Severity changed"),
    "reply_failed": _("Reply not delivered"),
}


def status_badge(ticket):
    return badge("ticket", ticket.status, ticket.get_status_display())


def severity_badge(ticket):
    return badge("severity", ticket.severity, ticket.get_severity_display())


def ticket_url(ticket_id):
    return reverse("admin:aftersales_ticket_change", args=[ticket_id])


def status_label(value):
    return Ticket.Status(value).label if value in Ticket.Status.values else value


class AssignedToMeFilter(admin.SimpleListFilter):
    title = _("assigned to")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", _("Me")), ("nobody", _("Nobody"))]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = _("answer")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Answer overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return selectors.only_overdue(queryset)
        return queryset


@admin.register(Ticket)
class TicketAdmin(ConsolePageMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "subject",
        "category",
        "severity_display",
        "status_display",
        "assigned_to",
        "answer_by",
        "order_link",
    )
    list_display_links = ("number",)
    list_filter = ("status", "category", "severity", AssignedToMeFilter, OverdueFilter)
    # Searching is by exact number or words of the subject (see get_search_results).
    search_fields = ("number",)
    search_help_text = _("Exact ticket or order number, or words of the subject.")
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    change_list_template = "admin/aftersales/ticket/change_list.html"

    def get_queryset(self, request):
        return selectors.ticket_list()

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_tickets(queryset, search_term), False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("severity"), ordering="severity")
    def severity_display(self, ticket):
        return severity_badge(ticket)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, ticket):
        return status_badge(ticket)

    @admin.display(description=_("answer by"), ordering="respond_by")
    def answer_by(self, ticket):
        if selectors.is_overdue(ticket):
            return format_html(
                '<span class="oc-overdue">{} · {}</span>', short_datetime(ticket.respond_by), gettext("overdue")
            )
        return short_datetime(ticket.respond_by)

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, ticket):
        if ticket.order_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[ticket.order_id]), ticket.order.number
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:ticket_id>/step/<str:step>/", wrap(self.step_view), name="aftersales_ticket_step"),
            path("<int:ticket_id>/note/", wrap(self.note_view), name="aftersales_ticket_note"),
            path("<int:ticket_id>/reply/", wrap(self.reply_view), name="aftersales_ticket_reply"),
            path("<int:ticket_id>/assign/", wrap(self.assign_view), name="aftersales_ticket_assign"),
            path("<int:ticket_id>/severity/", wrap(self.severity_view), name="aftersales_ticket_severity"),
        ] + super().get_urls()

    # The new-ticket form ------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        order = self.order_from(request)
        form = TicketForm(request.POST if request.method == "POST" else None, order=order)
        if form.is_valid():
            try:
                ticket = services.open_ticket(actor=request.user, **form.service_arguments())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                self.message_user(
                    request,
                    gettext("Ticket %(number)s is open: answer it by %(deadline)s.")
                    % {"number": ticket.number, "deadline": short_datetime(ticket.respond_by)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(ticket_url(ticket.pk))
        order_url = reverse("admin:orders_order_change", args=[order.pk]) if order else ""
        context = {
            **self.page_context(request, gettext("New complaint ticket")),
            "form": form,
            "order": order,
            "submit_label": gettext("Open ticket"),
            "cancel_url": order_url or reverse("admin:aftersales_ticket_changelist"),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/aftersales/ticket/add_form.html", context)

    @staticmethod
    def order_from(request):
        """The order a ticket is opened from (?order=<id>, kept in the form's address when posted)."""
        order_id = request.GET.get("order", "")
        if not order_id:
            return None
        if not order_id.isdigit():
            raise Http404(gettext("No order with id %(id)s.") % {"id": order_id})
        try:
            return selectors.order_for_ticket(int(order_id))
        except Order.DoesNotExist:
            raise Http404(gettext("No order with id %(id)s.") % {"id": order_id}) from None

    # The ticket page ----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return self.render_ticket_page(request, object_id)

    def viewable_ticket(self, request, ticket_id):
        if not str(ticket_id).isdigit():
            raise Http404
        try:
            ticket = selectors.ticket_for_page(int(ticket_id))
        except Ticket.DoesNotExist:
            raise Http404(gettext("No ticket with id %(id)s.") % {"id": ticket_id}) from None
        if not self.has_view_or_change_permission(request, ticket):
            raise PermissionDenied
        return ticket

    def render_ticket_page(self, request, ticket_id, **bound_forms):
        ticket = self.viewable_ticket(request, ticket_id)
        user = request.user
        may_handle = user.has_perm(Aftersales.HANDLE_TICKET)
        still_open = ticket.status in Ticket.OPEN
        not_closed = ticket.status != Ticket.Status.CLOSED
        forms = {
            "note_form": NoteForm() if may_handle else None,
            "reply_form": ReplyForm() if may_handle and not_closed else None,
            "assign_form": (
                AssignForm(initial={"assigned_to": ticket.assigned_to_id}) if may_handle and not_closed else None
            ),
            "severity_form": SeverityForm(initial={"severity": ticket.severity}) if may_handle and still_open else None,
            "resolve_form": ResolveForm(
                initial={"root_cause": ticket.root_cause, "corrective_action": ticket.corrective_action}
            ),
            "reopen_form": ReopenForm(),
        }
        forms.update(bound_forms)
        if ticket.customer_id:
            # The page names the customer and their email (docs/architecture.md, "Personal data").
            sight = sight_of(user)
            record_view(
                user,
                Sight(name=sight.name, phone=sight.phone, address=False),
                customer_id=ticket.customer_id,
                order_number=ticket.order.number if ticket.order_id else "",
                page=gettext("Ticket %(number)s") % {"number": ticket.number},
            )
        context = {
            **self.page_context(request, gettext("Ticket %(number)s") % {"number": ticket.number}),
            "ticket": ticket,
            "status_badge": status_badge(ticket),
            "severity_badge": severity_badge(ticket),
            "overdue": selectors.is_overdue(ticket),
            "steps": self.steps_for(user, ticket),
            "conversation": ticket.messages.all(),
            "timeline": [self.timeline_entry(event) for event in ticket.events.all()],
            "reply_to": ticket.customer.email if ticket.customer else "",
            "order_url": reverse("admin:orders_order_change", args=[ticket.order_id]) if ticket.order_id else "",
            "shipment_url": admin_url("logistics_shipment_change", ticket.shipment_id) if ticket.shipment_id else "",
            "return_url": (
                admin_url("aftersales_returnrequest_change", ticket.return_request_id)
                if ticket.return_request_id
                else ""
            ),
            "media": self.media,
            **forms,
        }
        return TemplateResponse(request, "admin/aftersales/ticket/detail.html", context)

    @staticmethod
    def steps_for(user, ticket):
        """The steps this user may take now. Resolving is offered whenever the status allows it:
        its form asks for the root cause and the corrective action the step needs."""
        steps = []
        for name, (_service, style) in STEPS.items():
            step = getattr(ticket, name)
            # has_transition_perm would check the conditions too, which the form fills in.
            if not (
                can_proceed(step, check_conditions=False)
                and step._django_fsm.has_transition_perm(ticket, ticket.status, user)
            ):
                continue
            steps.append(
                {
                    "name": name,
                    "label": transition_label(step),
                    "style": style,
                    "action": reverse("admin:aftersales_ticket_step", args=[ticket.pk, name]),
                }
            )
        return steps

    @staticmethod
    def timeline_entry(event):
        title = EVENT_TITLES.get(event.transition)
        return {
            "event": event,
            "title": title,
            "from": "" if title else status_label(event.from_status),
            "to": "" if title else status_label(event.to_status),
        }

    def back_to_ticket(self, ticket_id, anchor=""):
        return HttpResponseRedirect(ticket_url(ticket_id) + anchor)

    def step_view(self, request, ticket_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self.viewable_ticket(request, ticket_id)
        if step not in STEPS:
            raise Http404(gettext("Unknown step."))
        service = STEPS[step][0]
        seen_status = request.POST.get("seen_status") or None
        form, form_name, arguments = None, "", {}
        if step == "resolve":
            form, form_name = ResolveForm(request.POST), "resolve_form"
        elif step == "reopen":
            form, form_name = ReopenForm(request.POST), "reopen_form"
        if form is not None:
            form.is_valid()
            arguments = form.cleaned_data
        try:
            event = service(ticket.pk, actor=request.user, expected_status=seen_status, **arguments)
        except ValidationError as error:
            if form is None:
                raise
            add_service_error(form, error)
            return self.render_ticket_page(request, ticket.pk, **{form_name: form})
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("Ticket %(number)s is now %(status)s.")
                % {"number": ticket.number, "status": status_label(event.to_status)},
                messages.SUCCESS,
            )
        return self.back_to_ticket(ticket.pk)

    def _form_view(self, request, ticket_id, form_class, form_name, act, done, anchor=""):
        """Post one of the ticket page's forms to its service: done → a message and back to the
        ticket; the service's ValidationError → the page again with the form's errors."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self.viewable_ticket(request, ticket_id)
        form = form_class(request.POST)
        if form.is_valid():
            try:
                act(ticket, form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
                return self.back_to_ticket(ticket.pk)
            else:
                self.message_user(request, done(ticket), messages.SUCCESS)
                return self.back_to_ticket(ticket.pk, anchor)
        return self.render_ticket_page(request, ticket.pk, **{form_name: form})

    def note_view(self, request, ticket_id):
        return self._form_view(
            request,
            ticket_id,
            NoteForm,
            "note_form",
            lambda ticket, data: services.add_note(
                ticket.pk, text=data["text"], actor=request.user, answered_customer=data["answered_customer"]
            ),
            lambda ticket: gettext("Note added."),
            "#oc-conversation",
        )

    def reply_view(self, request, ticket_id):
        return self._form_view(
            request,
            ticket_id,
            ReplyForm,
            "reply_form",
            lambda ticket, data: services.reply(ticket.pk, text=data["text"], actor=request.user),
            lambda ticket: gettext("Your reply is on its way to %(email)s.") % {"email": ticket.customer.email},
            "#oc-conversation",
        )

    def assign_view(self, request, ticket_id):
        return self._form_view(
            request,
            ticket_id,
            AssignForm,
            "assign_form",
            lambda ticket, data: services.assign(ticket.pk, data["assigned_to"].pk, actor=request.user),
            lambda ticket: gettext("Ticket %(number)s is assigned.") % {"number": ticket.number},
        )

    def severity_view(self, request, ticket_id):
        return self._form_view(
            request,
            ticket_id,
            SeverityForm,
            "severity_form",
            lambda ticket, data: services.change_severity(ticket.pk, severity=data["severity"], actor=request.user),
            lambda ticket: gettext("The severity is saved; the answer deadline follows it."),
        )


def order_tickets_section(request, order):
    """The order page's card (orders.events.ORDER_PAGE_SECTIONS) of the order's complaints and its
    feedback, for staff who may see them."""
    user = request.user
    sees_tickets, sees_feedback = user.has_perm(Aftersales.VIEW_TICKET), user.has_perm(Aftersales.VIEW_FEEDBACK)
    if not (sees_tickets or sees_feedback):
        return None
    rows = (
        [
            {
                "ticket": ticket,
                "url": ticket_url(ticket.pk),
                "status_badge": status_badge(ticket),
                "severity_badge": severity_badge(ticket),
                "overdue": selectors.is_overdue(ticket),
            }
            for ticket in selectors.tickets_for_order(order.pk)
        ]
        if sees_tickets
        else None
    )
    new_ticket_url = ""
    if user.has_perm(Aftersales.ADD_TICKET):
        new_ticket_url = reverse("admin:aftersales_ticket_add") + "?" + urlencode({"order": order.pk})
    return {
        "template": "admin/aftersales/order_tickets.html",
        "tickets": rows,
        "sees_feedback": sees_feedback,
        "feedback": selectors.feedback_for_order(order.pk) if sees_feedback else None,
        "new_ticket_url": new_ticket_url,
    }
