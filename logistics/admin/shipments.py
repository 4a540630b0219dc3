"""The shipping console: carriers, the shipment list, and the dispatch and delivery steps an
order's page links to. Shipments are made and moved only by logistics.services."""

from itertools import groupby

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_fsm import can_proceed

from inventory.forms import add_service_error
from inventory.models import Warehouse
from orders.admin.display import REFUSALS, refusal_message
from orders.models import Allocation, Order, PaymentMethod

from . import services
from .forms import CarrierForm, DispatchForm
from .models import Carrier, Shipment


def order_page(order_id):
    return reverse("admin:orders_order_change", args=[order_id])


def not_ready_to_ship(order):
    """Why the order cannot be handed to a carrier now, or "" when it can."""
    if can_proceed(order.ship):
        return ""
    values = {"number": order.number, "status": order.get_status_display()}
    if order.status in (Order.Status.PENDING, Order.Status.ON_HOLD):
        return _("Order %(number)s is %(status)s: approve it, then pick and pack it before dispatch.") % values
    if order.status in (Order.Status.CONFIRMED, Order.Status.PICKING):
        return _("Order %(number)s is %(status)s: pick and pack it before dispatch.") % values
    if order.status == Order.Status.CANCELLED:
        return _("Order %(number)s is %(status)s: there is nothing to dispatch.") % values
    return _("Order %(number)s is %(status)s: everything on it has been dispatched.") % values


def waiting_allocations(order_id):
    """Stock still reserved for the order, by warehouse priority and bin, the order a picker walks."""
    return (
        Allocation.objects.filter(line__order_id=order_id, state=Allocation.State.RESERVED)
        .select_related("line__product", "stock_level__warehouse")
        .order_by("stock_level__warehouse__priority", "stock_level__warehouse__code",
                  "stock_level__bin_location", "line__sku", "pk")
    )


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    form = CarrierForm
    list_display = ("code", "name", "tracking_url_template", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ("order_link", "warehouse", "carrier", "tracking_link", "status", "shipped_at", "delivered_at")
    list_filter = ("status", "carrier", "warehouse")
    search_fields = ("tracking_number", "order__number")
    search_help_text = _("Exact tracking number or order number.")
    list_select_related = ("order", "warehouse", "carrier")
    show_full_result_count = False
    actions = ["mark_delivered"]
    fields = ("order_link", "warehouse", "carrier", "tracking_link", "status", "shipped_at", "delivered_at",
              "created_by")
    readonly_fields = fields
    change_form_template = "admin/logistics/shipment/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_dispatch_permission(self, request):
        return request.user.has_perm("orders.dispatch_order")

    def get_search_results(self, request, queryset, search_term):
        # Both numbers are matched whole, so the search stays on the indexes however many
        # shipments there are.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(tracking_number=term) | queryset.filter(order__number=term.upper()), False

    @admin.display(description=_("order"), ordering="order__number")
    def order_link(self, shipment):
        return format_html('<a href="{}">{}</a>', order_page(shipment.order_id), shipment.order.number)

    @admin.display(description=_("tracking number"), ordering="tracking_number")
    def tracking_link(self, shipment):
        url = shipment.tracking_url
        if not url:
            return shipment.tracking_number
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url,
                           shipment.tracking_number)

    @admin.action(description=_("Mark delivered"), permissions=["dispatch"])
    def mark_delivered(self, request, queryset):
        delivered = 0
        for shipment in queryset.select_related("carrier"):
            try:
                services.mark_delivered(shipment.pk, actor=request.user)
            except REFUSALS as error:
                messages.error(request, refusal_message(error))
            else:
                delivered += 1
        if delivered:
            messages.success(
                request,
                ngettext("%(count)d shipment marked delivered.", "%(count)d shipments marked delivered.", delivered)
                % {"count": delivered},
            )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_deliver"] = (
            obj is not None and obj.status == Shipment.Status.SHIPPED and self.has_dispatch_permission(request)
        )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("dispatch/<int:order_id>/", view(self.dispatch_view), name="logistics_shipment_dispatch"),
            path("<int:shipment_id>/deliver/", view(self.deliver_view), name="logistics_shipment_deliver"),
        ] + super().get_urls()

    def dispatch_view(self, request, order_id):
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Dispatch order %(number)s") % {"number": order.number},
            "order": order,
            "order_url": order_page(order.pk),
        }
        not_ready = not_ready_to_ship(order)
        if not_ready:
            # Nothing to fill in: the order has to reach "packed" first, or it is past shipping.
            context["not_ready"] = not_ready
            return TemplateResponse(request, "admin/logistics/shipment/dispatch.html", context)
        waiting = list(waiting_allocations(order_id))
        by_warehouse = [
            (warehouse, list(allocations))
            for warehouse, allocations in groupby(waiting, key=lambda a: a.stock_level.warehouse)
        ]
        warehouses = Warehouse.objects.filter(pk__in=[warehouse.pk for warehouse, _items in by_warehouse])
        form = DispatchForm(request.POST or None, warehouses=warehouses)
        if request.method == "POST" and form.is_valid():
            try:
                shipment = services.dispatch(
                    order_id=order.pk, warehouse_id=form.cleaned_data["warehouse"].pk,
                    carrier_id=form.cleaned_data["carrier"].pk,
                    tracking_number=form.cleaned_data["tracking_number"], actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("Order %(number)s: shipment %(shipment)s left %(warehouse)s.")
                    % {"number": order.number, "shipment": shipment, "warehouse": shipment.warehouse},
                )
                return redirect(order_page(order.pk))
        context.update({
            "by_warehouse": by_warehouse,
            # Cash on delivery is collected at the door; any other order normally leaves paid.
            "unpaid": order.payment_method != PaymentMethod.COD and order.balance_due > 0,
            "form": form,
            "media": self.media + form.media,
        })
        return TemplateResponse(request, "admin/logistics/shipment/dispatch.html", context)

    def deliver_view(self, request, shipment_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "carrier"), pk=shipment_id)
        try:
            services.mark_delivered(shipment.pk, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(request, _("Order %(number)s: shipment %(shipment)s delivered.")
                             % {"number": shipment.order.number, "shipment": shipment})
        return redirect(order_page(shipment.order_id))
