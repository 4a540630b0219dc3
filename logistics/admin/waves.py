"""Pick lists: made from orders selected on the order list for one warehouse, then printed for the
walk through its bins. Made only by logistics.services.create_pick_wave."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.console import ConsolePageMixin, short_datetime
from core.forms import add_service_error
from orders.admin.actions import BULK_LIMIT
from orders.admin.display import REFUSALS

from .. import selectors, services
from ..forms import PickWaveForm
from ..models import PickWave


def selected_order_ids(raw):
    """The order ids of the `orders` parameter ("12,15,19"), or None when it is not such a list."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not parts or len(parts) > BULK_LIMIT or not all(part.isdigit() for part in parts):
        return None
    return sorted({int(part) for part in parts})


def warehouse_options(orders, warehouses):
    """For each warehouse: the selected orders that can go on its pick list and, for the others,
    why not; in two queries however many orders are selected."""
    order_ids = [order.pk for order in orders]
    waiting = selectors.goods_waiting(order_ids)
    on_lists = selectors.warehouses_on_a_pick_list(order_ids)
    codes = {warehouse.pk: warehouse.code for warehouse in warehouses}
    options = []
    for warehouse in warehouses:
        pickable, refused = [], []
        for order in orders:
            reason = services.why_not_pickable(
                order,
                warehouse,
                waiting_in=set(waiting.get(order.pk, {})),
                on_lists_in=on_lists.get(order.pk, set()),
                warehouse_codes=codes,
            )
            if reason:
                refused.append({"number": order.number, "reason": reason})
            else:
                pickable.append(order.pk)
        options.append({"warehouse": warehouse, "pickable": pickable, "refused": refused})
    return options


@admin.register(PickWave)
class PickWaveAdmin(ConsolePageMixin, admin.ModelAdmin):
    list_display = ("name", "warehouse", "created", "created_by", "order_count", "unit_count", "to_pack")
    list_display_links = None
    list_filter = ("warehouse",)
    list_select_related = ("warehouse", "created_by")
    search_fields = ("shipments__order__number",)
    search_help_text = _("Exact order number.")
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.pick_waves()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(pk__in=selectors.waves_with_order(term)), False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("pick list"), ordering="pk")
    def name(self, wave):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:logistics_pickwave_print", args=[wave.pk]),
            gettext("Pick list %(id)s") % {"id": wave.pk},
        )

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, wave):
        return short_datetime(wave.created_at)

    @admin.display(description=_("orders"), ordering="order_count")
    def order_count(self, wave):
        return wave.order_count

    @admin.display(description=_("units"), ordering="unit_count")
    def unit_count(self, wave):
        return wave.unit_count

    @admin.display(description=_("still to pack"), ordering="to_pack_count")
    def to_pack(self, wave):
        return wave.to_pack_count

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:wave_id>/print/", view(self.print_view), name="logistics_pickwave_print"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A pick list is read on paper: its page is the printable one.
        if not str(object_id).isdigit():
            raise Http404
        return redirect("admin:logistics_pickwave_print", int(object_id))

    def add_view(self, request, form_url="", extra_context=None):
        """Choose the warehouse for orders selected on the order list ("Create pick list…"), then
        make the list and print it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.page_context(request, gettext("Create pick list")),
            "order_list_url": reverse("admin:orders_order_changelist"),
        }
        raw_ids = request.POST.get("orders") if request.method == "POST" else request.GET.get("orders")
        order_ids = selected_order_ids(raw_ids)
        orders = list(selectors.orders_by_id(order_ids)) if order_ids else []
        if not orders:
            context["no_orders"] = True
            return TemplateResponse(request, "admin/logistics/pickwave/create.html", context)
        options = warehouse_options(orders, list(selectors.active_warehouses()))
        form = PickWaveForm(request.POST or None, initial={"warehouse": self.best_warehouse(options)})
        if form.is_bound and form.is_valid():
            warehouse = form.cleaned_data["warehouse"]
            chosen = [order.pk for order in orders]
            if form.cleaned_data["leave_out"]:
                chosen = next(option["pickable"] for option in options if option["warehouse"] == warehouse)
            if not chosen:
                form.add_error(
                    "warehouse",
                    gettext("None of the selected orders can be picked in %(warehouse)s.")
                    % {"warehouse": warehouse.code},
                )
            else:
                try:
                    wave = services.create_pick_wave(warehouse.pk, chosen, actor=request.user)
                except REFUSALS as error:
                    add_service_error(form, error)
                else:
                    return redirect("admin:logistics_pickwave_print", wave.pk)
        context.update(
            {
                "form": form,
                "orders": orders,
                "order_ids": ",".join(str(order.pk) for order in orders),
                "options": options,
                "chosen_warehouse": str(form["warehouse"].value() or ""),
                "media": self.media + form.media,
            }
        )
        return TemplateResponse(request, "admin/logistics/pickwave/create.html", context)

    @staticmethod
    def best_warehouse(options):
        """The warehouse where most of the selected orders have goods waiting (options come in
        warehouse priority order, so a tie goes to the first filled from)."""
        best = max(options, key=lambda option: len(option["pickable"]), default=None)
        return best["warehouse"].pk if best and best["pickable"] else None

    def print_view(self, request, wave_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            sheet = selectors.pick_sheet(wave_id)
        except PickWave.DoesNotExist:
            raise Http404 from None
        return TemplateResponse(
            request,
            "admin/logistics/pickwave/pick_list.html",
            {
                "sheet": sheet,
                "wave": sheet.wave,
                "title": str(sheet.wave),
                "list_url": reverse("admin:logistics_pickwave_changelist"),
                "batch_print_url": f"{reverse('admin:logistics_shipment_print')}?wave={sheet.wave.pk}",
            },
        )
