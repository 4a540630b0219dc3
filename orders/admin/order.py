"""The order list, the order page and the new-order form of the console."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import refusal_message
from core.forms import add_service_error
from core.permissions import Logistics, Orders, require
from core.privacy import sight_of
from core.spreadsheets.console import ExportMixin
from core.transitions import TransitionRefused, may_take

from .. import selectors, services
from ..events import ORDER_PAGE_SECTIONS
from ..exports import ORDER_LINES, ORDERS
from ..forms import (
    AddressForm,
    LineFormSet,
    NoteForm,
    OrderForm,
    PaymentForm,
    add_service_error_with_lines,
    order_address_initial,
)
from ..models import Allocation, Order
from ..services.checks import describe
from .actions import OrderActionsMixin
from .changes import OrderChangeViews
from .desk_columns import OrderDeskColumns, ship_by
from .display import REFUSALS, OrderColumns, can_see_phone, opened_order, payment_badge, status_badge
from .filters import HeldFilter, PlacedFilter, WarehouseFilter
from .import_mapping import UploadMappingMixin
from .imports import OrderImportMixin
from .merging import OrderMergeViews
from .notifications import order_notification_rows
from .order_desk import ORDER_DESK_ACTIONS, OrderDeskMixin, TagFilter
from .paginator import CappedCountPaginator
from .review_desk import ApproveNextMixin
from .settlement import OrderSettlementViews
from .tabs import TabFilter
from .waiting import ManualHoldFilter, OrderWaitingMixin

# The steps staff take from the order page, by transition name, and whether the step takes a
# reason. Each service is told the status the person saw, so nobody acts on an order that
# someone else has just changed.
STEPS = {
    "approve": (services.approve, True),
    "reject": (services.reject, True),
    "complete": (services.complete, False),
    "cancel": (services.cancel, True),
}
STEP_STYLE = {"approve": "primary", "reject": "danger", "cancel": "danger"}


def admin_url(name: str, *args: object) -> str:
    """The console URL named `admin:<name>`. A name no view has is a mistake and fails loudly
    (NoReverseMatch); a button the person may not use is left out by its caller's own check."""
    return reverse(f"admin:{name}", args=args)


@admin.register(Order)
class OrderAdmin(
    ApproveNextMixin,
    OrderDeskColumns,
    OrderColumns,
    OrderDeskMixin,
    OrderActionsMixin,
    OrderWaitingMixin,
    OrderChangeViews,
    OrderMergeViews,
    OrderSettlementViews,
    ExportMixin,
    UploadMappingMixin,
    OrderImportMixin,
    admin.ModelAdmin,
):
    list_display_links = ("number",)
    list_filter = (
        TabFilter,
        "status",
        HeldFilter,
        ManualHoldFilter,
        PlacedFilter,
        "channel",
        "payment_status",
        WarehouseFilter,
        TagFilter,
    )
    list_select_related = ("channel",)
    list_per_page = 50
    ordering = ("-placed_at", "-id")
    sortable_by = ("placed",)
    search_fields = ("number",)
    search_help_text = _(
        "Order number or part of it, last four digits of the phone, whole phone, start of the recipient's name, "
        "SKU, channel order id or tracking number."
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    actions = [
        "approve_selected",
        "cancel_selected",
        "create_pick_list",
        "hold_selected",
        "release_selected",
        "merge_selected",
        *ORDER_DESK_ACTIONS,
    ]
    exports = (ORDERS, ORDER_LINES)

    def get_list_display(self, request):
        return (
            "number",
            "status_and_shipping",
            "placed",
            "channel",
            self.recipient_column(request),
            self.phone_column(request),
            "items_and_tags",
            "total_display",
            "payment_status_display",
            "risk_score",
        )

    @admin.display(description=_("items"))
    def items_and_tags(self, order):
        """The items, and the order's tags under them: a column of their own would not fit a
        1280 px screen beside the filters."""
        tags = self.tags_display(order)
        if not tags:
            return self.items_display(order)
        return format_html('{}<div class="oc-tags">{}</div>', self.items_display(order), tags)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": _("Orders"), **(extra_context or {})})

    def get_queryset(self, request):
        return selectors.order_list()

    def get_search_results(self, request, queryset, search_term):
        sight = sight_of(request.user)
        return selectors.search_orders(queryset, search_term, by_phone=sight.phone, by_name=sight.name), False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        opts = self.model._meta
        prefix = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/transition/<str:step>/", wrap(self.transition_view), name=f"{prefix}_transition"),
            path("<path:object_id>/payment/", wrap(self.payment_view), name=f"{prefix}_payment"),
            path("<path:object_id>/note/", wrap(self.note_view), name=f"{prefix}_note"),
            path("<path:object_id>/address/", wrap(self.address_view), name=f"{prefix}_address"),
            *self.waiting_urls(),
            *self.approve_next_urls(),
        ] + super().get_urls()

    # The order page ----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return self.render_order_page(request, object_id)

    def viewable_order(self, request, object_id, fetch=selectors.order_by_id):
        try:
            order = fetch(object_id)
        except (Order.DoesNotExist, ValueError, ValidationError):
            raise Http404(gettext("No order with id %(id)s.") % {"id": object_id}) from None
        if not self.has_view_or_change_permission(request, order):
            raise PermissionDenied
        return order

    def render_order_page(
        self, request, object_id, *, note_form=None, payment_form=None, address_form=None, refund_form=None
    ):
        order = self.viewable_order(request, object_id, fetch=selectors.order_for_page)
        user = request.user
        show_phone = can_see_phone(user)
        if note_form is None:
            note_form = NoteForm()
        if (
            payment_form is None
            and user.has_perm(Orders.ADD_PAYMENT)
            and selectors.settlement_figures(order).balance_due > 0
        ):
            payment_form = PaymentForm(initial={"method": order.payment_method, "amount": order.balance_due})
        if address_form is None and self.may_edit_address(user, order):
            address_form = AddressForm(initial=order_address_initial(order), show_phone=show_phone)
        shipments = self.shipment_rows(user, order)
        context = {
            **self.page_context(request, gettext("Order %(number)s") % {"number": order.number}),
            "order": order,
            "status_badge": status_badge(order),
            "payment_badge": payment_badge(order),
            "ship_by": ship_by(order),
            "contact": opened_order(request, order, gettext("Order page")),
            "hold_reasons": [describe(reason) for reason in order.hold_reasons],
            "manual_hold": self.manual_hold_context(request, order),
            "steps": self.steps_for(request, order),
            "allocations": [allocation for line in order.lines.all() for allocation in line.allocations.all()],
            "timeline": selectors.timeline(order),
            "tags": selectors.tags_of(order),
            "shipments": shipments,
            "merged_with": services.merged_with(order),
            # Delivery is recorded on each shipment, so the steps above point down to them.
            "deliveries_to_record": any(row["deliver_url"] for row in shipments),
            "note_form": note_form,
            "payment_form": payment_form,
            "address_form": address_form,
            "notifications": order_notification_rows(request, order),
            **self.settlement_context(request, order, refund_form),
            **self.changes_context(request, order),
            # The cards of the apps above orders (after-sales: returns, complaints and feedback).
            "extra_sections": [
                section for section in ORDER_PAGE_SECTIONS.publish(request=request, order=order) if section
            ],
            "media": self.media,
        }
        return TemplateResponse(request, "admin/orders/order/detail.html", context)

    @staticmethod
    def may_edit_address(user, order):
        return user.has_perm(Orders.REVIEW_ORDER) and order.status in Order.ADDRESS_EDITABLE

    def steps_for(self, request, order):
        """The steps this user may take now: a button each; the shipping steps are taken per
        warehouse, so they become "Create pick list" while goods wait to be put on one and
        "Dispatch" once a parcel is packed; delivery is recorded per shipment and system steps
        are never offered."""
        steps, shipping_offered = [], False
        for transition in order.get_available_user_status_transitions(request.user):
            custom = transition.custom
            if custom.get("system") or transition.name == "deliver":
                continue
            if custom.get("via_shipment"):
                shipping_offered = True
                continue
            if transition.name not in STEPS:
                continue
            steps.append(
                {
                    "name": transition.name,
                    "label": custom.get("label") or transition.name,
                    "action": reverse("admin:orders_order_transition", args=[order.pk, transition.name]),
                    "needs_reason": bool(custom.get("needs_reason")),
                    "style": STEP_STYLE.get(transition.name, "primary"),
                }
            )
        steps += self.approve_next_steps(request, order, steps)
        if shipping_offered:
            steps += self.shipping_steps(request.user, order)
        # Steps that end the order come last, away from the ones that move it on.
        return sorted(steps, key=lambda step: step["style"] == "danger")

    @staticmethod
    def shipping_steps(user, order):
        """From an order fetched by order_for_page: a pick list for the warehouses whose goods are
        on none yet, and Dispatch when a parcel is packed."""
        steps = []
        waiting_in = {
            allocation.stock_level.warehouse_id
            for line in order.lines.all()
            for allocation in line.allocations.all()
            if allocation.state == Allocation.State.RESERVED and not allocation.ship_later
        }
        # A parcel still to pack or to dispatch holds its warehouse's goods on a pick list.
        listed_in = {shipment.warehouse_id for shipment in order.shipments.all() if shipment.status in shipment.OPEN}
        if waiting_in - listed_in and user.has_perm(Orders.PICK_ORDER):
            steps.append(
                {
                    "name": "pick_list",
                    "label": _("Create pick list"),
                    "style": "primary",
                    "url": f"{admin_url('logistics_pickwave_add')}?orders={order.pk}",
                }
            )
        dispatchable = any(may_take(shipment.dispatch, user) for shipment in order.shipments.all())
        if dispatchable:
            steps.append(
                {
                    "name": "dispatch",
                    "label": _("Dispatch"),
                    "url": admin_url("logistics_shipment_dispatch", order.pk),
                    "style": "primary",
                }
            )
        return steps

    @staticmethod
    def shipment_rows(user, order):
        rows = []
        parcels = {shipment.pk: shipment for shipment in order.shipments.all()}
        if order.merge_id is not None:
            # A merged group's parcel belongs to its first order and carries this one's goods too.
            parcels.update((shipment.pk, shipment) for shipment in order.merge.shipments.all())
        for shipment in sorted(parcels.values(), key=lambda s: s.pk):
            deliverable = may_take(shipment.deliver, user)
            packing = shipment.status == shipment.Status.PENDING and user.has_perm(Orders.PICK_ORDER)
            labelled = shipment.status not in (shipment.Status.PENDING, shipment.Status.CANCELLED)
            viewable = user.has_perm(Logistics.VIEW_SHIPMENT)
            rows.append(
                {
                    "shipment": shipment,
                    "url": admin_url("logistics_shipment_change", shipment.pk) if viewable else "",
                    "deliver_url": admin_url("logistics_shipment_deliver", shipment.pk) if deliverable else "",
                    "pack_url": admin_url("logistics_shipment_pack_parcel", shipment.pk) if packing else "",
                    "packing_slip_url": admin_url("logistics_shipment_packing_slip", shipment.pk) if viewable else "",
                    "label_url": admin_url("logistics_shipment_label", shipment.pk) if viewable and labelled else "",
                }
            )
        return rows

    def back_to_order(self, request, order_id):
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order_id]))

    def transition_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        if step not in STEPS:
            raise Http404(gettext("Unknown step."))
        try:
            service, takes_reason = STEPS[step]
            extra = {"reason": request.POST.get("reason", "")} if takes_reason else {}
            event = service(
                order.pk, actor=request.user, expected_status=request.POST.get("seen_status") or None, **extra
            )
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("Order %(number)s is now %(status)s.")
                % {"number": order.number, "status": event.get_to_status_display()},
                messages.SUCCESS,
            )
        return self.back_to_order(request, order.pk)

    def payment_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        require(request.user, Orders.ADD_PAYMENT)
        form = PaymentForm(request.POST)
        if form.is_valid():
            try:
                services.record_payment(order.pk, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            except REFUSALS as error:
                form.add_error(None, refusal_message(error))
            else:
                self.message_user(request, gettext("Payment recorded."), messages.SUCCESS)
                return self.back_to_order(request, order.pk)
        return self.render_order_page(request, order.pk, payment_form=form)

    def note_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        require(request.user, Orders.ADD_ORDERNOTE)
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.add_note(order.pk, author=request.user, text=form.cleaned_data["text"])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                self.message_user(request, gettext("Note added."), messages.SUCCESS)
                return self.back_to_order(request, order.pk)
        return self.render_order_page(request, order.pk, note_form=form)

    def address_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.viewable_order(request, object_id)
        require(request.user, Orders.REVIEW_ORDER)
        form = AddressForm(request.POST, show_phone=can_see_phone(request.user))
        if form.is_valid():
            try:
                services.update_delivery_address(order.pk, actor=request.user, **form.cleaned_data)
            except TransitionRefused as error:
                self.message_user(request, str(error), messages.ERROR)
                return self.back_to_order(request, order.pk)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                self.message_user(request, gettext("Delivery address saved."), messages.SUCCESS)
                return self.back_to_order(request, order.pk)
        return self.render_order_page(request, order.pk, address_form=form)

    # The new-order form --------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        prices = {"may_set_prices": services.may_set_prices(request.user)}
        if request.method == "POST":
            form = OrderForm(request.POST, **prices)
            line_formset = LineFormSet(request.POST, prefix="lines", form_kwargs=prices)
            if form.is_valid() and line_formset.is_valid():
                placed = self.place(request, form, line_formset)
                if placed is not None:
                    return placed
        else:
            form = OrderForm(**prices)
            line_formset = LineFormSet(prefix="lines", form_kwargs=prices)
        context = {
            **prices,
            **self.page_context(request, gettext("New order")),
            "form": form,
            "line_formset": line_formset,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/orders/order/add_form.html", context)

    def place(self, request, form, line_formset):
        data = dict(form.cleaned_data)
        line_forms = line_formset.filled_forms()
        data["lines"] = [
            services.LineInput(
                sku=line.cleaned_data["sku"],
                quantity=line.cleaned_data["quantity"],
                unit_price=line.cleaned_data.get("unit_price"),
            )
            for line in line_forms
        ]
        try:
            result = services.place_order(services.OrderInput(**data), actor=request.user)
        except ValidationError as error:
            add_service_error_with_lines(form, line_forms, error)
            return None
        order = result.order
        if not result.created:
            self.message_user(
                request,
                gettext("This order was already placed as %(number)s.") % {"number": order.number},
                messages.WARNING,
            )
        elif order.status == Order.Status.AWAITING_PAYMENT:
            self.message_user(
                request,
                gettext("Order %(number)s is placed and awaits its payment; record the payment when it arrives.")
                % {"number": order.number},
                messages.WARNING,
            )
        elif order.status == Order.Status.ON_HOLD:
            self.message_user(
                request,
                gettext("Order %(number)s is placed and held for review: %(reasons)s")
                % {
                    "number": order.number,
                    "reasons": " ".join(describe(reason) for reason in order.hold_reasons)
                    or gettext("its risk score is high."),
                },
                messages.WARNING,
            )
        else:
            self.message_user(
                request,
                gettext("Order %(number)s is placed and confirmed; its stock is reserved.") % {"number": order.number},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
