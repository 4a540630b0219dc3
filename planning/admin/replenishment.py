"""The Replenishment page: the last planning run's suggestions grouped by supplier (transfers from
another warehouse first), a warehouse filter, "Recompute now", and the actions that turn the chosen
ones into draft purchase orders or transfers; the planning settings and the demand list. Everything
changes through planning.services."""

from collections import defaultdict
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext

from core.console import ConsolePageMixin, ReadOnlyAdminMixin, money, refusal_message, short_datetime
from core.permissions import Planning
from inventory.models import Warehouse

from .. import selectors, services
from ..models import PlanningSettings, ProductDemand, ReplenishmentSuggestion

REFUSALS = (ValidationError, PermissionDenied)
Kind = ReplenishmentSuggestion.Kind


class SupplierGroup:
    """The suggestions to buy from one supplier (or from nobody yet), with their total cost."""

    def __init__(self, supplier):
        self.supplier = supplier
        self.rows = []

    @property
    def total(self):
        costs = [row.cost for row in self.rows if row.cost is not None]
        return sum(costs, Decimal("0")) if costs else None

    @property
    def total_display(self):
        return money(self.total, self.supplier.currency) if self.supplier and self.total is not None else ""

    @property
    def below_minimum(self):
        minimum = self.supplier.minimum_order_value if self.supplier else 0
        return bool(minimum) and self.total is not None and self.total < minimum


def _grouped(rows):
    transfers, by_supplier = [], defaultdict(list)
    for row in rows:
        row.cost_display = money(row.cost, row.currency) if row.cost is not None else ""
        row.unit_cost_display = money(row.unit_cost, row.currency) if row.unit_cost is not None else ""
        if row.kind == Kind.TRANSFER:
            transfers.append(row)
        else:
            by_supplier[row.supplier_id].append(row)
    groups = []
    for supplier_id, supplier_rows in by_supplier.items():
        group = SupplierGroup(supplier_rows[0].supplier if supplier_id else None)
        group.rows = supplier_rows
        groups.append(group)
    # The query orders by supplier code with those without one last; dicts keep that order.
    return transfers, groups


@admin.register(ReplenishmentSuggestion)
class ReplenishmentAdmin(ConsolePageMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The list is the replenishment page itself."""

    def has_replenish_permission(self, request):
        return request.user.has_perm(Planning.REPLENISH)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("recompute/", wrap(self.recompute_view), name=self.admin_view_name("recompute")),
            path("act/", wrap(self.act_view), name=self.admin_view_name("act")),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        warehouses = list(Warehouse.objects.filter(active=True))
        try:
            warehouse_id = int(request.GET.get("warehouse") or 0)
        except ValueError:
            warehouse_id = 0
        running_out = request.GET.get("running_out") == "1"
        rows = list(selectors.suggestions(warehouse_id=warehouse_id or None, running_out=running_out))
        transfers, groups = _grouped(rows)
        computed_at = max((row.computed_at for row in rows), default=None)
        context = self.page_context(
            request,
            gettext("Replenishment"),
            warehouses=warehouses,
            warehouse_id=warehouse_id,
            running_out=running_out,
            transfers=transfers,
            groups=groups,
            count=len(rows),
            warnings=selectors.run_out_warnings().count(),
            computed_at=short_datetime(computed_at) if computed_at else "",
            settings=PlanningSettings.current(),
            may_replenish=self.has_replenish_permission(request),
            query=request.GET.urlencode(),
        )
        return TemplateResponse(request, "admin/planning/replenishment.html", context)

    def _back(self, request):
        return HttpResponseRedirect(self.changelist_url(request.POST.get("query", "")))

    def _post_only(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_replenish_permission(request):
            raise PermissionDenied
        return None

    def recompute_view(self, request):
        refused = self._post_only(request)
        if refused:
            return refused
        run = services.plan_replenishment(actor=request.user)
        self.message_user(
            request,
            gettext("Recomputed: %(suggestions)d suggestions, %(warnings)d new run-out warnings.")
            % {"suggestions": run.suggestions, "warnings": run.warnings_raised},
            messages.SUCCESS,
        )
        return self._back(request)

    def act_view(self, request):
        refused = self._post_only(request)
        if refused:
            return refused
        try:
            chosen = [int(pk) for pk in request.POST.getlist("suggestion")]
        except ValueError:
            chosen = []
        if not chosen:
            self.message_user(request, gettext("Choose at least one suggestion."), messages.WARNING)
            return self._back(request)
        try:
            if request.POST.get("action") == "transfer":
                made = services.transfer_suggestions(chosen, actor=request.user)
                done = gettext("Draft transfers made: %(numbers)s.")
            else:
                made = services.order_suggestions(chosen, actor=request.user)
                done = gettext("Draft purchase orders made: %(numbers)s.")
        except REFUSALS as error:
            self.message_user(request, refusal_message(error), messages.ERROR)
        else:
            self.message_user(request, done % {"numbers": ", ".join(item.number for item in made)}, messages.SUCCESS)
        return self._back(request)


@admin.register(PlanningSettings)
class PlanningSettingsAdmin(admin.ModelAdmin):
    """One row of settings. Its list is skipped: the section opens the settings themselves."""

    fields = ("service_level", "review_period_days", "lead_time_without_supplier_days")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return redirect("admin:planning_planningsettings_change", PlanningSettings.current().pk)


@admin.register(ProductDemand)
class ProductDemandAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each product sold in each warehouse, as the last planning run found it."""

    list_display = (
        "product",
        "warehouse",
        "units_7",
        "units_30",
        "units_90",
        "daily_rate_30",
        "daily_deviation",
        "available",
        "days_of_cover",
        "computed_at",
    )
    list_filter = ("warehouse",)
    search_fields = ("product__sku", "product__name")
    list_select_related = ("product", "warehouse")
    ordering = ("product__sku", "warehouse__priority")
    show_full_result_count = False
