"""Returns in the console: the list (After-sales → Returns), "Open a return" from the order page,
and the return page with the steps this user may take now, each a small form. Nothing here is
edited or deleted outside those steps: every change goes through aftersales.services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, badge, money, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Aftersales, Orders, require
from core.privacy import Sight, record_view, sight_of
from orders.admin.display import REFUSALS
from orders.admin.order import admin_url
from orders.services.checks import describe

from .. import services
from ..forms.returns import InspectForm, OpenReturnForm, ReceiveForm, RejectForm, ResolveForm
from ..models import Outcome, ReturnReason, ReturnRequest
from ..selectors import returns as selectors

Status = ReturnRequest.Status
STEP_NAMES = {"approve", "reject", "receive", "inspect", "resolve", "close"}
STEP_STYLE = {"reject": "danger"}


def return_page(case_id):
    return reverse("admin:aftersales_returnrequest_change", args=[case_id])


def order_page(order_id):
    return reverse("admin:orders_order_change", args=[order_id])


def return_badge(case):
    return badge("return", case.status, case.get_status_display())


class ReasonFilter(admin.SimpleListFilter):
    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ReturnReason.choices

    def queryset(self, request, queryset):
        if self.value() in ReturnReason.values:
            return queryset.filter(pk__in=selectors.ids_of_returns_with_reason(self.value()))
        return queryset


@admin.register(ReturnRequest)
class ReturnRequestAdmin(ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    list_display = ("number", "order_link", "status_badge", "wanted_outcome", "reasons", "within_window", "created")
    list_display_links = ("number",)
    list_filter = ("status", "wanted_outcome", ReasonFilter)
    search_fields = ("number",)
    search_help_text = _("Exact return number or order number.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Returns"), **(extra_context or {})})

    def get_queryset(self, request):
        return selectors.return_list()

    def get_search_results(self, request, queryset, search_term):
        # Both numbers are matched whole, so the search stays on their indexes.
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(number=term) | queryset.filter(order__number=term), False

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, case):
        return format_html('<a href="{}">{}</a>', order_page(case.order_id), case.order.number)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, case):
        return return_badge(case)

    @admin.display(description=_("reasons"))
    def reasons(self, case):
        return ", ".join(sorted({str(line.get_reason_display()) for line in case.lines.all()}))

    @admin.display(description=_("requested at"), ordering="created_at")
    def created(self, case):
        return short_datetime(case.created_at)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("open/<int:order_id>/", wrap(self.open_view), name="aftersales_returnrequest_open"),
            path("<int:case_id>/step/<str:step>/", wrap(self.step_view), name="aftersales_returnrequest_step"),
        ] + super().get_urls()

    # Opening a return from the order page ---------------------------------------------------------

    def open_view(self, request, order_id):
        require(request.user, Aftersales.ADD_RETURNREQUEST)
        order = selectors.order_for_return(order_id)
        if order is None:
            raise Http404(gettext("No order with id %(id)s.") % {"id": order_id})
        window = selectors.return_window(order.delivered_at)
        form_kwargs = {
            "returnable": selectors.returnable_lines(order),
            "ask_late_reason": window is not None
            and not window.within
            and request.user.has_perm(Aftersales.ACCEPT_LATE_RETURN),
        }
        if request.method == "POST":
            form = OpenReturnForm(request.POST, **form_kwargs)
            if form.is_valid():
                try:
                    case = services.request_return(
                        order.pk,
                        lines=form.line_inputs(),
                        wanted_outcome=form.cleaned_data["wanted_outcome"],
                        customer_note=form.cleaned_data["customer_note"],
                        late_reason=form.cleaned_data.get("late_reason", ""),
                        actor=request.user,
                    )
                except ValidationError as error:
                    add_service_error(form, error, form.field_for())
                except REFUSALS as error:
                    form.add_error(None, refusal_message(error))
                else:
                    self.done(
                        request,
                        gettext("Return %(number)s is opened for order %(order)s.")
                        % {"number": case.number, "order": order.number},
                    )
                    return HttpResponseRedirect(return_page(case.pk))
        else:
            form = OpenReturnForm(**form_kwargs)
        context = {
            **self.page_context(request, gettext("Open a return of order %(number)s") % {"number": order.number}),
            "order": order,
            "order_url": order_page(order.pk),
            "window": window,
            "returnable_order": order.status in selectors.RETURNABLE_ORDER_STATUSES,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/aftersales/returnrequest/open.html", context)

    # The return page ------------------------------------------------------------------------------

    def viewable_return(self, request, case_id):
        try:
            case = selectors.return_for_page(int(case_id))
        except (ReturnRequest.DoesNotExist, ValueError):
            raise Http404(gettext("No return with id %(id)s.") % {"id": case_id}) from None
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        return case

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return self.render_return_page(request, self.viewable_return(request, object_id))

    def step_forms(self, request, case, bound=None):
        """An unbound form (or None for a plain button) for each step this user may take now; the
        step in `bound` ((name, form)) shows the form as it was sent, with its errors."""
        lines = list(case.lines.all())
        makers = {
            "approve": lambda data: None,
            "reject": lambda data: RejectForm(data, prefix="reject"),
            "receive": lambda data: ReceiveForm(data, lines=lines, prefix="receive"),
            "inspect": lambda data: InspectForm(data, lines=lines, prefix="inspect"),
            "resolve": lambda data: ResolveForm(
                data,
                case=case,
                lines=lines,
                prefix="resolve",
                value=services.refund_value(case, lines=lines),
            ),
            "close": lambda data: None,
        }
        steps = []
        for transition in case.get_available_user_status_transitions(request.user):
            if transition.name not in makers:
                continue
            form = bound[1] if bound and bound[0] == transition.name else makers[transition.name](None)
            steps.append(
                {
                    "name": transition.name,
                    "label": transition.custom.get("label") or transition.name,
                    "action": reverse("admin:aftersales_returnrequest_step", args=[case.pk, transition.name]),
                    "style": STEP_STYLE.get(transition.name, "primary"),
                    "form": form,
                }
            )
        return steps

    def render_return_page(self, request, case, bound=None):
        may_see_refunds = request.user.has_perm(Orders.VIEW_REFUND)
        # The page names the customer (docs/architecture.md, "Personal data").
        sight = sight_of(request.user)
        record_view(
            request.user,
            Sight(name=sight.name, phone=False, address=False),
            customer_id=case.order.customer_id,
            order_number=case.order.number,
            page=gettext("Return %(number)s") % {"number": case.number},
        )
        context = {
            **self.page_context(request, gettext("Return %(number)s") % {"number": case.number}),
            "case": case,
            "status_badge": return_badge(case),
            "order_url": order_page(case.order_id),
            "window": selectors.window_of_return(case),
            "lines": case.lines.all(),
            "timeline": [
                {
                    "event": event,
                    "from": Status(event.from_status).label if event.from_status else "",
                    "to": Status(event.to_status).label,
                }
                for event in case.events.all()
            ],
            "steps": self.step_forms(request, case, bound),
            "refunds": [
                {
                    "refund": refund,
                    "amount": money(refund.amount, case.order.currency),
                    "url": admin_url("orders_refund_change", refund.pk) if may_see_refunds else "",
                }
                for refund in case.refunds.all()
            ],
            "refund_amount": money(case.refund_amount, case.order.currency) if case.refund_amount else "",
            "replacement_url": order_page(case.replacement_order_id) if case.replacement_order_id else "",
            **self.repair_links(request.user, case),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/aftersales/returnrequest/detail.html", context)

    @staticmethod
    def repair_links(user, case):
        """The repair parcel's page, and where to take it next: packing, then dispatch (the order
        page offers neither for an order already delivered)."""
        parcel = case.repair_shipment
        if parcel is None:
            return {}
        return {
            "repair_url": admin_url("logistics_shipment_change", parcel.pk),
            "repair_pack_url": admin_url("logistics_shipment_pack_parcel", parcel.pk)
            if parcel.status == parcel.Status.PENDING and user.has_perm(Orders.PICK_ORDER)
            else "",
            "repair_dispatch_url": admin_url("logistics_shipment_dispatch", case.order_id)
            if parcel.status == parcel.Status.PACKED and user.has_perm(Orders.DISPATCH_ORDER)
            else "",
        }

    # The steps ------------------------------------------------------------------------------------

    def step_view(self, request, case_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        case = self.viewable_return(request, case_id)
        handler = getattr(self, f"take_{step}", None) if step in STEP_NAMES else None
        if handler is None:
            raise Http404(gettext("Unknown step."))
        try:
            form = handler(request, case)
        except REFUSALS as error:
            # Refused for the return's state or the user's role: there is nothing to correct in a form.
            self.message_user(request, refusal_message(error), messages.ERROR)
            return HttpResponseRedirect(return_page(case.pk))
        if form is not None:
            return self.render_return_page(request, self.viewable_return(request, case.pk), bound=(step, form))
        return HttpResponseRedirect(return_page(case.pk))

    def done(self, request, message, level=messages.SUCCESS):
        self.message_user(request, message, level)

    def take_approve(self, request, case):
        case = services.approve_return(case.pk, actor=request.user)
        self.done(
            request,
            gettext("Return %(number)s is approved: the customer may send the goods.") % {"number": case.number},
        )

    def take_reject(self, request, case):
        form = RejectForm(request.POST, prefix="reject")
        if not form.is_valid():
            return form
        try:
            services.reject_return(case.pk, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as error:
            add_service_error(form, error)
            return form
        self.done(request, gettext("Return %(number)s is rejected.") % {"number": case.number})
        return None

    def take_receive(self, request, case):
        form = ReceiveForm(request.POST, lines=list(case.lines.all()), prefix="receive")
        if not form.is_valid():
            return form
        try:
            services.receive_return(
                case.pk, warehouse_id=form.cleaned_data["warehouse"].pk, received=form.received(), actor=request.user
            )
        except ValidationError as error:
            add_service_error(form, error, form.field_for())
            return form
        self.done(
            request,
            gettext("Return %(number)s is received at %(warehouse)s; inspect the goods next.")
            % {"number": case.number, "warehouse": form.cleaned_data["warehouse"]},
        )
        return None

    def take_inspect(self, request, case):
        form = InspectForm(request.POST, lines=list(case.lines.all()), prefix="inspect")
        if not form.is_valid():
            return form
        try:
            services.inspect_return(case.pk, results=form.results(), actor=request.user)
        except ValidationError as error:
            add_service_error(form, error, form.field_for())
            return form
        if case.wanted_outcome == Outcome.REPAIR:
            message = gettext("Return %(number)s is inspected; the goods wait for repair and are not stock.")
        else:
            message = gettext(
                "Return %(number)s is inspected; resellable goods are back in stock, damaged ones in quarantine."
            )
        self.done(request, message % {"number": case.number})
        return None

    def take_resolve(self, request, case):
        lines = list(case.lines.all())
        form = ResolveForm(
            request.POST, case=case, lines=lines, prefix="resolve", value=services.refund_value(case, lines=lines)
        )
        if not form.is_valid():
            return form
        data = form.cleaned_data
        try:
            case = services.resolve_return(
                case.pk,
                outcome=data["outcome"],
                refund_amount=data["refund_amount"],
                include_shipping=data["include_shipping"],
                exchange_skus=form.exchange_skus(),
                actor=request.user,
            )
        except ValidationError as error:
            add_service_error(form, error, form.field_for())
            return form
        self.announce_resolution(request, case)
        return None

    def announce_resolution(self, request, case):
        values = {"number": case.number}
        if case.replacement_order_id:
            replacement = case.replacement_order
            values["order"] = replacement.number
            if replacement.is_held:
                values["reasons"] = " ".join(describe(reason) for reason in replacement.hold_reasons)
                self.done(
                    request,
                    gettext(
                        "Return %(number)s is resolved by an exchange: replacement order %(order)s is placed but held "
                        "for review: %(reasons)s"
                    )
                    % values,
                    messages.WARNING,
                )
            else:
                self.done(
                    request,
                    gettext(
                        "Return %(number)s is resolved by an exchange: replacement order %(order)s is placed and its "
                        "stock is reserved."
                    )
                    % values,
                )
        elif case.repair_shipment_id:
            values["warehouse"] = case.repair_shipment.warehouse
            self.done(
                request,
                gettext(
                    "Return %(number)s is resolved by a repair: a parcel waits to be packed at %(warehouse)s to take the "
                    "repaired goods back."
                )
                % values,
            )
        else:
            values.update(currency=case.order.currency, amount=case.refund_amount)
            self.done(
                request,
                gettext(
                    "Return %(number)s is resolved by a refund of %(currency)s %(amount)s; Finance approves it next."
                )
                % values,
            )

    def take_close(self, request, case):
        case = services.close_return(case.pk, actor=request.user)
        self.done(request, gettext("Return %(number)s is closed.") % {"number": case.number})


# The order page's card -----------------------------------------------------------------------------


def order_returns_card(request, order):
    """The order page's card (orders.events.ORDER_PAGE_SECTIONS): the order's returns, the return
    window, and "Open a return" for those who may."""
    user = request.user
    if not user.has_perm(Aftersales.VIEW_RETURNREQUEST):
        return None
    returns = list(selectors.returns_of_order(order))
    returnable_order = order.status in selectors.RETURNABLE_ORDER_STATUSES
    if not returns and not returnable_order:
        return None
    may_open = (
        returnable_order
        and user.has_perm(Aftersales.ADD_RETURNREQUEST)
        and any(row.returnable for row in selectors.returnable_lines(order))
    )
    return {
        "template": "admin/aftersales/order_returns.html",
        "returns": [{"case": case, "badge": return_badge(case), "url": return_page(case.pk)} for case in returns],
        "window": selectors.return_window(order.delivered_at) if returnable_order else None,
        "open_url": reverse("admin:aftersales_returnrequest_open", args=[order.pk]) if may_open else "",
    }
