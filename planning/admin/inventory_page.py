"""The inventory page: ABC classes, stock value per warehouse, turnover and days of inventory, and
dead stock, read from the snapshot the classification writes; recomputed on demand, and downloaded
as an Excel workbook."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.charts import bar_chart
from core.console import ConsolePageMixin, ReadOnlyAdminMixin
from core.permissions import Planning, may, require
from core.spreadsheets.writing import XLSX_CONTENT_TYPE
from inventory.models import Warehouse

from .. import selectors, services
from ..exports import inventory_workbook
from ..models import InventorySnapshot


class WarehouseFilterForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        label=gettext_lazy("Warehouse"),
        queryset=Warehouse.objects.order_by("priority", "code"),
        required=False,
        empty_label=gettext_lazy("All warehouses"),
    )


def _percent(value):
    return f"{number_format(value, 1)}%"


def _money(value):
    return number_format(value, 2, force_grouping=True)


@admin.register(InventorySnapshot)
class InventoryPageAdmin(ConsolePageMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The snapshots are not a list anyone browses: the section opens the inventory page."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Planning.VIEW_INVENTORY_FIGURES)

    def get_urls(self):
        return [
            path("recompute/", self.admin_site.admin_view(self.recompute_view), name=self.admin_view_name("recompute")),
            path("export/", self.admin_site.admin_view(self.export_view), name=self.admin_view_name("export")),
        ] + super().get_urls()

    def _warehouse(self, request):
        form = WarehouseFilterForm(request.GET)
        warehouse = form.cleaned_data["warehouse"] if form.is_valid() else None
        return form, warehouse

    def changelist_view(self, request, extra_context=None):
        require(request.user, Planning.VIEW_INVENTORY_FIGURES, _("Your role may not see the inventory figures."))
        form, warehouse = self._warehouse(request)
        page = selectors.inventory_page(warehouse.pk if warehouse else None)
        context = self.page_context(
            request,
            _("Inventory: ABC classes, turnover and dead stock"),
            form=form,
            page=page,
            may_recompute=may(request.user, Planning.CLASSIFY_PRODUCTS),
            may_change_settings=may(request.user, Planning.CHANGE_CLASSIFICATIONSETTINGS),
            query=urlencode({"warehouse": warehouse.pk}) if warehouse else "",
            listed_rows=selectors.LISTED_ROWS,
        )
        if page.snapshot:
            context.update(self._figures(page))
        return TemplateResponse(request, "admin/planning/inventory.html", context)

    def _figures(self, page):
        snapshot = page.snapshot
        revenue = snapshot.revenue or 1
        classes = [
            {
                "figure": figure,
                "share": figure.revenue * 100 / revenue,
                "threshold": {"A": snapshot.a_share, "B": snapshot.b_share, "C": snapshot.c_share}[figure.abc_class],
            }
            for figure in page.classes
        ]
        warehouses = [
            {
                "figure": figure,
                "turnover": figure.turnover,
                "days": figure.days_of_inventory(snapshot.period_days),
            }
            for figure in page.warehouses
        ]
        class_label = _("Class %(class)s")
        return {
            "classes": classes,
            "warehouses": warehouses,
            "stock_value": sum((figure.stock_value for figure in page.warehouses), 0),
            "dead_value": sum((figure.dead_value for figure in page.warehouses), 0),
            "class_count_chart": bar_chart(
                [(class_label % {"class": row["figure"].abc_class}, row["figure"].products) for row in classes],
                fmt=lambda value: number_format(value, 0, force_grouping=True),
                label_width=80,
            ),
            "class_revenue_chart": bar_chart(
                [(class_label % {"class": row["figure"].abc_class}, row["share"]) for row in classes],
                fmt=_percent,
                label_width=80,
            ),
            "warehouse_chart": bar_chart(
                [(str(row["figure"].warehouse), row["figure"].stock_value) for row in warehouses], fmt=_money
            ),
        }

    def recompute_view(self, request):
        require(request.user, Planning.CLASSIFY_PRODUCTS, _("Your role may not recompute the ABC classes."))
        back = self.changelist_url(request.POST.get("query", ""))
        if request.method != "POST":
            return redirect(back)
        snapshot = services.recompute_classification(actor=request.user)
        messages.success(
            request,
            _("The ABC classes and the inventory figures were recomputed in %(seconds)s s.")
            % {"seconds": number_format(snapshot.seconds, 1)},
        )
        return redirect(back)

    def export_view(self, request):
        require(request.user, Planning.VIEW_INVENTORY_FIGURES, _("Your role may not see the inventory figures."))
        _form, warehouse = self._warehouse(request)
        snapshot = selectors.latest_snapshot()
        if snapshot is None:
            messages.error(request, _("There are no inventory figures yet: recompute them first."))
            return redirect(self.changelist_url())
        response = HttpResponse(inventory_workbook(snapshot, warehouse), content_type=XLSX_CONTENT_TYPE)
        stamp = timezone.localtime(snapshot.computed_at).strftime("%Y%m%d-%H%M")
        suffix = f"-{warehouse.code}" if warehouse else ""
        response["Content-Disposition"] = f'attachment; filename="inventory-{stamp}{suffix}.xlsx"'
        return response
