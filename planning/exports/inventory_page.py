"""The inventory page as an Excel workbook (`core.spreadsheets.writing`): the ABC classes, the
warehouses, every product's stock figures and the dead stock, numbers as numbers, for one warehouse
or all, from the same snapshot the page shows."""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from core.spreadsheets.writing import write_xlsx_sheets
from inventory.models import Warehouse

from .. import selectors
from ..models import InventorySnapshot

CHUNK = 2000


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _class_rows(snapshot):
    revenue = snapshot.revenue or 1
    for figure in selectors.class_figures(snapshot):
        yield [
            figure.abc_class,
            figure.products,
            figure.revenue,
            round(figure.revenue / revenue, 4),
            figure.stock_value,
        ]


def _warehouse_rows(snapshot, warehouse_id):
    for figure in selectors.warehouse_figures(snapshot, warehouse_id):
        yield [
            figure.warehouse.code,
            figure.warehouse.name,
            figure.products,
            figure.units_on_hand,
            figure.stock_value,
            figure.average_stock_value,
            figure.cost_of_sales,
            figure.turnover,
            figure.days_of_inventory(snapshot.period_days),
            figure.dead_products,
            figure.dead_value,
        ]


STOCK_COLUMNS = (
    "product__sku",
    "product__name",
    "warehouse__code",
    "abc_class",
    "on_hand",
    "unit_cost",
    "stock_value",
    "units_sold",
    "average_on_hand",
    "turnover",
    "days_of_inventory",
    "last_sold_at",
)


def _stock_rows(snapshot, warehouse_id, *, dead):
    figures = selectors.stock_figures(snapshot, warehouse_id=warehouse_id, dead=dead).values_list(*STOCK_COLUMNS)
    for row in figures.iterator(chunk_size=CHUNK):
        yield [*row[:-1], _local(row[-1])]


def inventory_workbook(snapshot: InventorySnapshot, warehouse: Warehouse | None = None) -> bytes:
    warehouse_id = warehouse.pk if warehouse else None
    stock_headers = [
        _("SKU"),
        _("Name"),
        _("Warehouse"),
        _("ABC class"),
        _("On hand"),
        _("Unit cost"),
        _("Stock value"),
        _("Units sold"),
        _("Average on hand"),
        _("Turnover"),
        _("Days of inventory"),
        _("Last sold"),
    ]
    about = [
        [_("Computed at"), _local(snapshot.computed_at)],
        [_("Period from"), _local(snapshot.period_start)],
        [_("Period to"), _local(snapshot.period_end)],
        [_("Dead stock: no sale since"), _local(snapshot.dead_since)],
        [_("Class A: share of revenue (%)"), snapshot.a_share],
        [_("Class B: share of revenue (%)"), snapshot.b_share],
        [_("Class C: share of revenue (%)"), snapshot.c_share],
        [_("Warehouse"), str(warehouse) if warehouse else _("All warehouses")],
    ]
    sheets = [
        (_("Figures"), [_("What"), _("Value")], about),
        (
            _("ABC classes"),
            [_("Class"), _("Products"), _("Revenue"), _("Share of revenue"), _("Stock value")],
            _class_rows(snapshot),
        ),
        (
            _("Warehouses"),
            [
                _("Code"),
                _("Warehouse"),
                _("Products"),
                _("Units on hand"),
                _("Stock value"),
                _("Average stock value"),
                _("Cost of goods sold"),
                _("Turnover"),
                _("Days of inventory"),
                _("Dead stock products"),
                _("Dead stock value"),
            ],
            _warehouse_rows(snapshot, warehouse_id),
        ),
        (_("Stock"), stock_headers, _stock_rows(snapshot, warehouse_id, dead=False)),
        (_("Dead stock"), stock_headers, _stock_rows(snapshot, warehouse_id, dead=True)),
    ]
    out = io.BytesIO()
    write_xlsx_sheets(sheets, out)
    return out.getvalue()
