"""Excel and CSV imports of the catalogue, of stock counts and of a count session's sheet, through the core spreadsheet pipeline
(docs/architecture.md, "Spreadsheets"): the check shows every row as new, changed or unchanged, or
every problem with its row and column; confirming imports all rows or, if any fails, none. Headers
may be English or Chinese. Products are saved by `services.save_products`; stock counts are booked
through `services.record_count`, so each one is a line in the stock ledger and a count is never
written to a stock level directly; a count session's sheet sets its lines' counts through
`services.record_session_counts`, booked when the session is (docs/architecture.md, "Stock counts")."""

import io
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.jobs import JobKind
from core.permissions import Inventory
from core.spreadsheets import cells, imports
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.console import UploadForm
from core.spreadsheets.exports import field_label
from core.spreadsheets.templates import Template
from core.spreadsheets.writing import write_xlsx_sheets

from . import services
from .models import CountSession, Product, StockLevel, StockMovement, Warehouse

# The most rows one file may hold, and the rows the preview lists one by one.
MAX_ROWS = 20_000
LISTED_ROWS = 500
REFERENCE_LENGTH = StockMovement._meta.get_field("reference").max_length

PRODUCT_COLUMNS = Columns(
    Column(
        "sku",
        "sku",
        "SKU",
        required=True,
        description=gettext_lazy("The product's SKU: a new SKU adds a product, a known one updates it."),
        title=field_label(Product, "sku"),
    ),
    Column(
        "name",
        "name",
        "名称",
        description=gettext_lazy("The product's name; a new product needs one."),
        title=field_label(Product, "name"),
    ),
    Column(
        "barcode",
        "barcode",
        "条码",
        description=gettext_lazy("The barcode on the goods; each barcode belongs to one product."),
        title=field_label(Product, "barcode"),
    ),
    Column(
        "unit_price",
        "unit_price",
        "单价",
        description=gettext_lazy("The catalogue price of one unit; a new product needs one."),
        title=field_label(Product, "unit_price"),
    ),
    Column(
        "cost",
        "cost",
        "成本",
        description=gettext_lazy("What one unit costs you; empty keeps the known cost (0 for a new product)."),
        title=field_label(Product, "cost"),
    ),
    Column(
        "weight_kg",
        "weight_kg",
        "重量",
        description=gettext_lazy("The weight of one unit in kg."),
        title=field_label(Product, "weight_kg"),
    ),
    Column(
        "fragile",
        "fragile",
        "易碎",
        description=gettext_lazy("yes or no (是 / 否)."),
        title=field_label(Product, "fragile"),
    ),
    Column(
        "active",
        "active",
        "在售",
        description=gettext_lazy("yes or no (是 / 否): whether the product is sold."),
        title=field_label(Product, "active"),
    ),
)
# How each product column is read from its cell.
PRODUCT_READERS = {
    "sku": cells.identifier,
    "name": cells.text,
    "barcode": cells.identifier,
    "unit_price": cells.amount,
    "cost": cells.amount,
    "weight_kg": cells.amount,
    "fragile": cells.yes_no,
    "active": cells.yes_no,
}

STOCK_COUNT_COLUMNS = Columns(
    Column(
        "warehouse",
        "warehouse",
        "仓库",
        required=True,
        description=gettext_lazy("The warehouse's code."),
        title=field_label(StockLevel, "warehouse"),
    ),
    Column(
        "sku",
        "sku",
        "SKU",
        required=True,
        description=gettext_lazy("The product's SKU."),
        title=field_label(Product, "sku"),
    ),
    Column(
        "counted",
        "counted",
        "盘点数量",
        required=True,
        description=gettext_lazy("The units on the shelf, reserved ones included: a whole number, zero or more."),
    ),
    Column(
        "reference",
        "reference",
        "盘点单号",
        description=gettext_lazy("The count's reference, kept in the stock ledger; empty: the file's name."),
    ),
)


def _counts(outcomes):
    return {action: sum(1 for outcome in outcomes if outcome == action) for action in ("new", "update", "skip")}


# --- products -----------------------------------------------------------------------------------


def _read_products(table, problems):
    """(row number, sku, the values the row gives) of each row; a cell left empty gives nothing, so
    the product keeps its value (a new one the model's default)."""
    rows, first_row_of = [], {}
    for number, values in table:
        given = {}
        for key, raw in values.items():
            if cells.is_blank(raw):
                continue
            try:
                given[key] = PRODUCT_READERS[key](raw)
            except cells.CellError as error:
                problems.add(number, key, error)
        sku = given.pop("sku", "")
        if not sku:
            problems.add(number, "sku", _("Enter the product's SKU."))
            continue
        if sku in first_row_of:
            problems.add(
                number,
                "sku",
                _("SKU “%(sku)s” is also in row %(row)s; a file holds each product once.")
                % {"sku": sku, "row": first_row_of[sku]},
            )
            continue
        first_row_of[sku] = number
        rows.append((number, sku, given))
    return rows


def _change_text(action, changes):
    """What a row changes, as the preview says it: "unit price: 40.00 → 59.90; …", or the values
    of a new product."""
    if action == "new":
        return "; ".join(f"{PRODUCT_COLUMNS[name].title}: {new}" for name, (_old, new) in changes.items())
    return "; ".join(f"{PRODUCT_COLUMNS[name].title}: {old} → {new}" for name, (old, new) in changes.items())


def _apply_products(run):
    table = run.table(PRODUCT_COLUMNS, max_rows=MAX_ROWS)
    rows = _read_products(table, run.problems)
    run.phase("saving", total=len(rows))
    actions, preview = [], []
    with run.writing():
        outcomes = services.save_products([(sku, given) for _number, sku, given in rows], actor=run.actor)
        for (number, sku, _given), outcome in zip(rows, outcomes, strict=True):
            if not isinstance(outcome, tuple):
                run.problems.add_refusal(number, outcome)
                continue
            action, changes = outcome
            actions.append(action)
            if len(preview) < LISTED_ROWS:
                preview.append({"row": number, "action": action, "cells": [sku, _change_text(action, changes)]})
    return {"rows": table.count, **_counts(actions), "preview": preview}


PRODUCT_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_products", gettext_lazy("Product import")),
    columns=PRODUCT_COLUMNS,
    permission=Inventory.ADD_PRODUCT,
    refusal=gettext_lazy("Your role may not import products."),
    apply=_apply_products,
    ready=lambda summary: bool(summary.get("new") or summary.get("update")),
    location="inventory.importers.PRODUCT_IMPORT",
)


def product_template():
    return Template(
        PRODUCT_COLUMNS,
        title="products",
        amounts=("unit_price", "cost", "weight_kg"),
        text=("sku", "barcode"),
        wide=("name",),
        notes=(),
    ).workbook()


# --- stock counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    row: int
    warehouse: Warehouse
    product: Product
    counted: int
    reference: str


def _read_counts(table, problems, reference):
    """The counts of the file's rows that name a known warehouse and SKU and a readable count."""
    warehouses = {warehouse.code.casefold(): warehouse for warehouse in Warehouse.objects.all()}
    rows = []
    for number, values in table:
        code = cells.text(values.get("warehouse"))
        warehouse = warehouses.get(code.casefold())
        if warehouse is None:
            problems.add(number, "warehouse", _("Unknown warehouse “%(code)s”.") % {"code": code})
        rows.append(
            (
                number,
                warehouse,
                cells.text(values.get("sku")),
                _counted(number, values.get("counted"), problems),
                cells.text(values.get("reference")) or reference,
            )
        )
    products = Product.objects.in_bulk({sku for _number, _warehouse, sku, *_rest in rows}, field_name="sku")
    counts, first_row_of = [], {}
    for number, warehouse, sku, counted, row_reference in rows:
        product = products.get(sku)
        if product is None:
            problems.add(number, "sku", _("Unknown SKU “%(sku)s”.") % {"sku": sku})
            continue
        if warehouse is None or counted is None:
            continue
        if (warehouse.pk, product.pk) in first_row_of:
            problems.add(
                number,
                "sku",
                _("%(sku)s is counted in %(warehouse)s in row %(row)s already; count each product once per warehouse.")
                % {"sku": sku, "warehouse": warehouse.code, "row": first_row_of[warehouse.pk, product.pk]},
            )
            continue
        first_row_of[warehouse.pk, product.pk] = number
        counts.append(Count(number, warehouse, product, counted, row_reference[:REFERENCE_LENGTH]))
    return counts


def _counted(number, raw, problems):
    try:
        counted = cells.whole_number(raw)
    except cells.CellError as error:
        problems.add(number, "counted", error)
        return None
    if counted is None or counted < 0:
        problems.add(number, "counted", _("Enter the units counted: a whole number, zero or more."))
        return None
    return counted


def _apply_counts(run):
    table = run.table(STOCK_COUNT_COLUMNS, max_rows=MAX_ROWS)
    counts = _read_counts(table, run.problems, _("Count import %(file)s") % {"file": run.job.file_name})
    run.phase("booking", total=len(counts))
    actions, preview = [], []
    with run.writing():
        outcomes = services.record_counts(
            [(count.product, count.warehouse, count.counted, count.reference) for count in counts], actor=run.actor
        )
        for count, outcome in zip(counts, outcomes, strict=True):
            if isinstance(outcome, ValidationError):
                run.problems.add_refusal(count.row, outcome)
                continue
            action, before = outcome
            actions.append(action)
            if len(preview) < LISTED_ROWS:
                preview.append(
                    {
                        "row": count.row,
                        "action": action,
                        "cells": [count.warehouse.code, count.product.sku, f"{before} → {count.counted}"],
                    }
                )
    return {"rows": table.count, **_counts(actions), "preview": preview}


STOCK_COUNT_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_stock", gettext_lazy("Stock count import")),
    columns=STOCK_COUNT_COLUMNS,
    permission=Inventory.COUNT_STOCK,
    refusal=gettext_lazy("Your role may not record stock counts."),
    apply=_apply_counts,
    ready=lambda summary: bool(summary.get("new") or summary.get("update")),
    location="inventory.importers.STOCK_COUNT_IMPORT",
)


def stock_count_template():
    return Template(
        STOCK_COUNT_COLUMNS, title="stock counts", text=("warehouse", "sku", "reference"), notes=()
    ).workbook()


# --- a count session's sheet ----------------------------------------------------------------------

SESSION_COUNT_COLUMNS = Columns(
    Column(
        "bin",
        "bin",
        "库位",
        description=gettext_lazy("The bin the goods were counted in; empty: wherever the session holds the SKU."),
        title=field_label(StockLevel, "bin_location"),
    ),
    STOCK_COUNT_COLUMNS["sku"],
    STOCK_COUNT_COLUMNS["counted"],
)


class SessionSheetUploadForm(UploadForm):
    """A filled-in count sheet and the session it belongs to (one still counting)."""

    session = forms.ModelChoiceField(
        label=gettext_lazy("Count"),
        queryset=CountSession.objects.filter(status=CountSession.Status.COUNTING).select_related("warehouse"),
    )

    field_order = ["session", "file"]


def session_count_template():
    """An empty sheet with the headers and help; each session's page offers its own, filled with its bins and SKUs."""
    return Template(SESSION_COUNT_COLUMNS, title="count sheet", text=("bin", "sku"), notes=()).workbook()


def session_count_sheet(session: CountSession) -> bytes:
    """The blank sheet of a session: bin and SKU per line, the count left empty, and no expected
    figure, so counting by sheet stays blind."""
    columns = list(SESSION_COUNT_COLUMNS)
    rows = [
        [line.bin_location, line.stock_level.product.sku, None]
        for line in session.lines.select_related("stock_level__product").order_by(
            "bin_location", "stock_level__product__sku"
        )
    ]
    out = io.BytesIO()
    write_xlsx_sheets([(session.number, [column.english for column in columns], rows)], out)
    return out.getvalue()


def _apply_session_counts(run):
    table = run.table(SESSION_COUNT_COLUMNS, max_rows=MAX_ROWS)
    rows = []
    for number, values in table:
        counted = _counted(number, values.get("counted"), run.problems)
        sku = cells.text(values.get("sku"))
        if not sku:
            run.problems.add(number, "sku", _("Enter the product's SKU."))
            continue
        if counted is not None:
            rows.append((number, sku, cells.text(values.get("bin")), counted))
    run.phase("counting", total=len(rows))
    actions, preview = [], []
    with run.writing():
        try:
            outcomes = services.record_session_counts(
                run.job.parameters["session"],
                [(sku, bin_location, counted) for _number, sku, bin_location, counted in rows],
                actor=run.actor,
            )
        except ValidationError as error:
            # The session itself refuses (finished or cancelled since): the file as a whole.
            run.problems.add(None, "", " ".join(error.messages))
            outcomes = []
        for (number, sku, bin_location, counted), outcome in zip(rows, outcomes, strict=False):
            if isinstance(outcome, ValidationError):
                run.problems.add_refusal(number, outcome)
                continue
            actions.append("update")
            if len(preview) < LISTED_ROWS:
                preview.append({"row": number, "action": "update", "cells": [bin_location, sku, counted]})
    return {"rows": table.count, **_counts(actions), "preview": preview}


SESSION_COUNT_IMPORT = imports.SpreadsheetImport(
    kind=JobKind("import_count_sheet", gettext_lazy("Count sheet import")),
    columns=SESSION_COUNT_COLUMNS,
    permission=Inventory.COUNT_STOCK,
    refusal=gettext_lazy("Your role may not record stock counts."),
    apply=_apply_session_counts,
    ready=lambda summary: bool(summary.get("update")),
    location="inventory.importers.SESSION_COUNT_IMPORT",
)
