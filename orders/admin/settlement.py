"""Money in the console: the refund list and page where Finance approves and pays refunds, the
reconciliation of what orders say against what payments say (with its Excel download), and, for
the order page, the refund request form and the printable settlement statement."""

import io

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, badge, money, refusal_message, short_datetime
from core.forms import add_service_error
from core.permissions import Orders, require
from core.spreadsheets.writing import Format, write_xlsx_sheets

from .. import selectors, services
from ..forms import ReconciliationForm, RefundRequestForm, RefundSettleForm
from ..models import Payment, PaymentMethod, Refund
from .display import REFUSALS, opened_order

# The statement is a money document for those who deal with money (Finance, customer service).
STATEMENT_PERMISSIONS = (Orders.ADD_PAYMENT, Orders.VIEW_REFUND)
BULK_LIMIT = 200

REFUND_STEPS = {
    "approve": services.approve_refund,
    "mark_paid": services.mark_refund_paid,
    "fail": services.fail_refund,
}


def refund_badge(refund):
    return badge("refund", refund.status, refund.get_status_display())


def may_see_statement(user):
    return any(user.has_perm(permission) for permission in STATEMENT_PERMISSIONS)


class PaymentMethodFilter(admin.SimpleListFilter):
    title = _("payment method")
    parameter_name = "method"

    def lookups(self, request, model_admin):
        return PaymentMethod.choices

    def queryset(self, request, queryset):
        return queryset.filter(payment__method=self.value()) if self.value() else queryset


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Refunds change only through their steps: approve, record paid, decline or record failed."""

    change_form_template = "admin/orders/refund/change_form.html"
    list_display = ("requested", "order_link", "payment_method", "amount_display", "status_badge", "requested_by")
    list_display_links = ("requested",)
    list_filter = ("status", PaymentMethodFilter)
    list_per_page = 50
    search_fields = ("order__number",)
    search_help_text = _("Exact order number.")
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    empty_value_display = "—"
    actions = ["approve_selected"]
    fields = readonly_fields = (
        "order_link",
        "payment_link",
        "amount_display",
        "status_badge",
        "reason",
        "requested_by",
        "requested",
        "approved_by",
        "approved",
        "reference",
        "failure_reason",
        "settled_by",
        "settled",
    )

    def get_queryset(self, request):
        return selectors.refund_list()

    def get_search_results(self, request, queryset, search_term):
        return selectors.search_by_order_number(queryset, search_term), False

    def has_approve_permission(self, request):
        return request.user.has_perm(Orders.APPROVE_REFUND)

    @admin.display(description=_("requested at"), ordering="requested_at")
    def requested(self, refund):
        return short_datetime(refund.requested_at)

    @admin.display(description=_("approved at"))
    def approved(self, refund):
        return short_datetime(refund.approved_at) if refund.approved_at else "—"

    @admin.display(description=_("paid or failed at"))
    def settled(self, refund):
        return short_datetime(refund.settled_at) if refund.settled_at else "—"

    @admin.display(description=_("order"))
    def order_link(self, refund):
        return format_html(
            '<a class="oc-mono" href="{}">{}</a>',
            reverse("admin:orders_order_change", args=[refund.order_id]),
            refund.order.number,
        )

    @admin.display(description=_("payment method"))
    def payment_method(self, refund):
        return refund.payment.get_method_display()

    @admin.display(description=_("payment"))
    def payment_link(self, refund):
        payment = refund.payment
        return format_html(
            "{} {} · {}{}",
            payment.get_method_display(),
            money(payment.amount, refund.order.currency),
            short_datetime(payment.created_at),
            f" · {payment.reference}" if payment.reference else "",
        )

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, refund):
        return money(refund.amount, refund.order.currency)

    @admin.display(description=_("status"))
    def status_badge(self, refund):
        return refund_badge(refund)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/step/<str:step>/",
                self.admin_site.admin_view(self.step_view),
                name="orders_refund_step",
            ),
        ] + super().get_urls()

    def viewable_refund(self, request, object_id):
        try:
            refund = selectors.refund_for_page(object_id)
        except (Refund.DoesNotExist, ValueError):
            raise Http404(gettext("No refund with id %(id)s.") % {"id": object_id}) from None
        if not self.has_view_permission(request, refund):
            raise PermissionDenied
        return refund

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        refund = self.viewable_refund(request, object_id)
        context = {"refund_steps": self.steps_for(request.user, refund), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    @staticmethod
    def steps_for(user, refund):
        """The steps this user may take on the refund now, each a button or a small form."""
        return [
            {
                "name": transition.name,
                "label": transition.custom.get("label") or transition.name,
                "url": reverse("admin:orders_refund_step", args=[refund.pk, transition.name]),
                "form": None if transition.name == "approve" else RefundSettleForm(step=transition.name),
                "style": "danger" if transition.name == "fail" else "primary",
            }
            for transition in refund.get_available_user_status_transitions(user)
            if transition.name in REFUND_STEPS
        ]

    def step_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        refund = self.viewable_refund(request, object_id)
        if step not in REFUND_STEPS:
            raise Http404(gettext("Unknown step."))
        back = HttpResponseRedirect(reverse("admin:orders_refund_change", args=[refund.pk]))
        details = {}
        if step != "approve":
            form = RefundSettleForm(request.POST, step=step)
            if not form.is_valid():
                for name, errors in form.errors.items():
                    for error in errors:
                        self.message_user(
                            request,
                            gettext("%(field)s: %(error)s") % {"field": form.fields[name].label, "error": error},
                            messages.ERROR,
                        )
                return back
            details = form.cleaned_data
        try:
            done = REFUND_STEPS[step](refund.pk, actor=request.user, **details)
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The refund of %(amount)s %(currency)s on order %(number)s is now %(status)s.")
                % {
                    "amount": done.amount,
                    "currency": refund.order.currency,
                    "number": refund.order.number,
                    "status": done.get_status_display(),
                },
                messages.SUCCESS,
            )
        return back

    @admin.action(description=_("Approve selected refunds"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        selected = list(queryset.order_by("requested_at", "pk").values_list("pk", flat=True)[: BULK_LIMIT + 1])
        if len(selected) > BULK_LIMIT:
            self.message_user(
                request,
                gettext("Select at most %(limit)d refunds at a time.") % {"limit": BULK_LIMIT},
                messages.ERROR,
            )
            return
        approved = 0
        for refund_id in selected:
            try:
                services.approve_refund(refund_id, actor=request.user)
            except REFUSALS as error:
                self.message_user(request, refusal_message(error), messages.ERROR)
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext("%(count)d refund approved.", "%(count)d refunds approved.", approved) % {"count": approved},
                messages.SUCCESS,
            )


@admin.register(Payment)
class ReconciliationAdmin(ReadOnlyAdminMixin, ConsolePageMixin, admin.ModelAdmin):
    """Payments are listed on their orders; their place in the console is the reconciliation of
    orders against payments per day, channel and method, with the mismatches to look into."""

    def has_view_permission(self, request, obj=None):
        # Finance and managers reconcile: the roles that record payments.
        return request.user.has_perm(Orders.ADD_PAYMENT)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="orders_payment_changelist"),
            path("excel/", wrap(self.excel_view), name="orders_payment_reconciliation_excel"),
        ]

    def reconciled(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied(gettext("Your role may not reconcile payments."))
        form = ReconciliationForm(request.GET)
        if not form.is_valid():
            return form, None, None, None
        period = form.cleaned_data
        return (
            form,
            selectors.reconciliation(period["start"], period["end"], channel=period["channel"]),
            selectors.payment_mismatches(period["start"], period["end"], channel=period["channel"]),
            # Whatever the period: cash the carriers still hold is owed now.
            selectors.cod_outstanding(),
        )

    def changelist_view(self, request, extra_context=None):
        form, summary, mismatches, outstanding = self.reconciled(request)
        query = request.GET.urlencode()
        context = {
            **self.page_context(request, gettext("Reconciliation")),
            "form": form,
            "summary": summary,
            "mismatches": mismatches,
            "cod_outstanding": outstanding,
            "cod_age_labels": selectors.cod_age_labels(),
            "mismatch_limit": selectors.MISMATCH_LIMIT,
            "excel_url": reverse("admin:orders_payment_reconciliation_excel") + (f"?{query}" if query else ""),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/orders/settlement/reconciliation.html", context)

    def excel_view(self, request):
        form, summary, mismatches, outstanding = self.reconciled(request)
        if summary is None:
            self.message_user(request, gettext("Choose a valid period first."), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_payment_changelist") + "?" + request.GET.urlencode())
        period = form.cleaned_data
        out = io.BytesIO()
        write_xlsx_sheets(reconciliation_sheets(summary, mismatches, outstanding), out)
        response = HttpResponse(out.getvalue(), content_type=Format.CONTENT_TYPES[Format.XLSX])
        response["Content-Disposition"] = (
            f'attachment; filename="reconciliation-{period["start"].isoformat()}-{period["end"].isoformat()}.xlsx"'
        )
        return response


def reconciliation_sheets(summary, mismatches, outstanding=()):
    """The page's tables as (title, headers, rows) for write_xlsx_sheets."""
    summary_rows = [
        [row.day, row.channel, row.method, row.currency, row.orders, row.ordered, row.captured, row.refunded, row.net]
        for row in summary.rows
    ]
    summary_rows += [
        [
            gettext("Total"),
            "",
            "",
            total.currency,
            total.orders,
            total.ordered,
            total.captured,
            total.refunded,
            total.net,
        ]
        for total in summary.totals
    ]
    mismatch_rows = [
        [
            str(mismatch.problem),
            mismatch.number,
            mismatch.channel,
            mismatch.detail,
            mismatch.amount,
            mismatch.currency,
            timezone.localtime(mismatch.since).replace(tzinfo=None, microsecond=0),
        ]
        for mismatch in mismatches
    ]
    return [
        (
            gettext("Summary"),
            [
                gettext("Day"),
                gettext("Channel"),
                gettext("Payment method"),
                gettext("Currency"),
                gettext("Orders"),
                gettext("Orders' total"),
                gettext("Captured"),
                gettext("Refunds paid"),
                gettext("Net"),
            ],
            summary_rows,
        ),
        (
            gettext("Mismatches"),
            [
                gettext("Problem"),
                gettext("Order"),
                gettext("Channel"),
                gettext("What is wrong"),
                gettext("Amount"),
                gettext("Currency"),
                gettext("Since"),
            ],
            mismatch_rows,
        ),
        (
            gettext("COD outstanding"),
            [gettext("Carrier"), gettext("Currency"), gettext("Parcels"), gettext("Amount")]
            + [
                f"{label} ({kind})"
                for label in selectors.cod_age_labels()
                for kind in (gettext("parcels"), gettext("amount"))
            ],
            [
                [str(row["carrier"]), row["currency"], row["parcels"], row["amount"]]
                + [value for parcels, amount in row["ages"] for value in (parcels, amount)]
                for row in outstanding
            ],
        ),
    ]


class OrderSettlementViews:
    """For OrderAdmin: the order page's refund request and the settlement statement."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/refund/", wrap(self.refund_request_view), name="orders_order_refund"),
            path("<path:object_id>/statement/", wrap(self.statement_view), name="orders_order_statement"),
        ] + super().get_urls()

    @staticmethod
    def refund_form_for(user, order, data=None):
        """The refund request form for an order fetched by order_for_page, when this user may ask
        for one and something captured is not refunded yet; otherwise None."""
        if not user.has_perm(Orders.REQUEST_REFUND) or order.amount_paid <= order.amount_refunded:
            return None
        captured = [payment for payment in order.payments.all() if payment.status == Payment.Status.CAPTURED]
        return RefundRequestForm(data, payments=captured)

    def settlement_context(self, request, order, refund_form=None):
        user = request.user
        return {
            "figures": selectors.settlement_figures(order),
            "refund_form": refund_form or self.refund_form_for(user, order),
            "statement_url": (
                reverse("admin:orders_order_statement", args=[order.pk]) if may_see_statement(user) else ""
            ),
            "may_view_refunds": user.has_perm(Orders.VIEW_REFUND),
        }

    def refund_request_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id, fetch=selectors.order_for_page)
        require(request.user, Orders.REQUEST_REFUND)
        form = self.refund_form_for(request.user, order, request.POST)
        if form is None:
            self.message_user(
                request,
                gettext("Nothing captured on order %(number)s is left to refund.") % {"number": order.number},
                messages.ERROR,
            )
            return self.back_to_order(request, order.pk)
        if form.is_valid():
            try:
                refunds = services.request_refund(order.pk, actor=request.user, **form.refund_kwargs())
            except ValidationError as error:
                add_service_error(form, error)
            except REFUSALS as error:
                form.add_error(None, refusal_message(error))
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Refund requested; Finance approves it.",
                        "%(count)d refunds requested, one per payment; Finance approves them.",
                        len(refunds),
                    )
                    % {"count": len(refunds)},
                    messages.SUCCESS,
                )
                return self.back_to_order(request, order.pk)
        return self.render_order_page(request, order.pk, refund_form=form)

    def statement_view(self, request, object_id):
        order = self.viewable_order(request, object_id, fetch=selectors.order_for_statement)
        if not may_see_statement(request.user):
            raise PermissionDenied(gettext("Your role may not see settlement statements."))
        context = {
            "title": gettext("Settlement statement %(number)s") % {"number": order.number},
            "order": order,
            "contact": opened_order(request, order, gettext("Settlement statement")),
            "shop_name": settings.SHOP_NAME,
            "figures": selectors.settlement_figures(order),
            "order_url": reverse("admin:orders_order_change", args=[order.pk]),
            "printed_at": timezone.now(),
        }
        return TemplateResponse(request, "admin/orders/settlement/statement.html", context)
