"""Reading the logistics uploads through the core spreadsheet pipeline: the sheet of tracking numbers
to dispatch and the sheet of tracking events a carrier sends. Files are Excel (.xlsx) or CSV with
English or Chinese headers; this module only turns them into rows and says which cell could not be
read, as every import says it (row as Excel numbers it, column as the file names it). What the rows
mean is decided by logistics.selectors (preview) and logistics.services (confirm)."""

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.spreadsheets import cells, reading
from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.problems import Problems
from core.spreadsheets.templates import Template

from .models import ExceptionKind, TrackingEvent

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Columns kept as Excel gives them (a date, a day number), to be read as what they are.
AS_GIVEN = ("occurred_at",)

ORDER_NUMBER = Column(
    "order_number",
    "order number",
    "订单号",
    required=True,
    title=gettext_lazy("Order number"),
    aliases=("订单编号", "order", "order no"),
)
CARRIER = Column(
    "carrier", "carrier", "承运商", required=True, title=gettext_lazy("Carrier"), aliases=("快递公司", "物流公司")
)
TRACKING_NUMBER = Column(
    "tracking_number",
    "tracking number",
    "运单号",
    required=True,
    title=gettext_lazy("Tracking number"),
    aliases=("快递单号", "物流单号", "tracking no"),
)
DISPATCH_COLUMNS = Columns(ORDER_NUMBER, CARRIER, TRACKING_NUMBER)
EVENT_COLUMNS = Columns(
    TRACKING_NUMBER,
    CARRIER,
    Column(
        "occurred_at", "time", "时间", required=True, title=gettext_lazy("Time"), aliases=("发生时间", "occurred at")
    ),
    Column("status", "status", "状态", required=True, title=gettext_lazy("Status")),
    Column(
        "exception_kind", "exception kind", "异常类型", title=gettext_lazy("Exception kind"), aliases=("exception",)
    ),
    Column("location", "location", "地点", title=gettext_lazy("Location"), aliases=("所在地",)),
    Column("description", "description", "描述", title=gettext_lazy("Description"), aliases=("说明", "详情")),
)


@dataclass
class Sheet:
    """The data rows of an upload: dicts with "row" (its row as Excel numbers it) and one value per
    column key; the problems found reading it; and each column's header as the file writes it."""

    rows: list = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    names: dict = field(default_factory=dict)


def read_sheet(uploaded, columns):
    """The data rows of an upload, keyed by column, with the problems found reading it: a missing
    header (on the header row), an empty required cell (its row and column). Blank rows are
    skipped."""
    sheet = Sheet()
    if uploaded.size > MAX_UPLOAD_BYTES:
        sheet.problems.add(
            None, "", _("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
        return sheet
    try:
        table = reading.Table(uploaded.read(), uploaded.name, columns, sheet.problems, max_rows=MAX_ROWS)
        sheet.names = table.names
        for number, values in table:
            row = {"row": number}
            for column in columns:
                row[column.key] = _cell(number, column.key, values.get(column.key), sheet.problems)
                if column.required and row[column.key] == "":
                    sheet.problems.add(number, column.key, _("This cell is empty."))
            sheet.rows.append(row)
    except reading.UnreadableFile as error:
        sheet.problems.add(None, "", error)
        return sheet
    if table.readable and not sheet.rows and not sheet.problems:
        sheet.problems.add(None, "", _("The file has headers but no rows."))
    return sheet


def _cell(number, key, value, problems):
    """A cell as text (an order or tracking number Excel has rounded is a problem), or as Excel
    gave it for a column read later as what it is; "" when it is empty."""
    if cells.is_blank(value):
        return ""
    if key in AS_GIVEN:
        return value if isinstance(value, date | int | float) else cells.text(value)
    try:
        return cells.identifier(value)
    except cells.CellError as error:
        problems.add(number, key, error)
        return ""


def read_dispatch_rows(uploaded):
    """The rows of a dispatch sheet: order number, carrier, tracking number."""
    return read_sheet(uploaded, DISPATCH_COLUMNS)


@cache
def _statuses():
    return cells.choice_names(TrackingEvent.Status.choices)


@cache
def _exception_kinds():
    return cells.choice_names(ExceptionKind.choices)


def read_event_rows(uploaded):
    """The rows of a tracking events file with the status and exception kind as codes (written as
    the code or as the label in English or Chinese) and the time as an aware datetime; a cell that
    cannot be read is a problem and leaves None (status, time) or "" (exception kind) in its place."""
    sheet = read_sheet(uploaded, EVENT_COLUMNS)
    for row in sheet.rows:
        row["status"] = _choice(
            sheet,
            row,
            "status",
            _statuses(),
            _("Unknown status “%(value)s”: use one of %(choices)s."),
            TrackingEvent.Status.values,
        )
        row["exception_kind"] = (
            _choice(
                sheet,
                row,
                "exception_kind",
                _exception_kinds(),
                _("Unknown exception kind “%(value)s”: use one of %(choices)s."),
                ExceptionKind.values,
            )
            or ""
        )
        row["occurred_at"] = _moment(sheet, row)
        row["location"], row["description"] = str(row["location"]), str(row["description"])
    return sheet


def _choice(sheet, row, key, names, refusal, choices):
    """The code a cell names, or None: left empty (already reported if required) or unknown
    (reported now, with the value as written)."""
    written = row[key]
    if written == "":
        return None
    code = names.get(cells.comparable(written))
    if code is None:
        sheet.problems.add(row["row"], key, refusal % {"value": written, "choices": ", ".join(choices)})
    return code


def _moment(sheet, row):
    if row["occurred_at"] == "":
        return None
    try:
        return cells.aware_moment(row["occurred_at"])
    except cells.CellError as error:
        sheet.problems.add(row["row"], "occurred_at", error)
        return None


def template_workbook(columns, example):
    """An Excel template: the headers in the person's language and one example row."""
    chinese = (translation.get_language() or "").startswith("zh")
    return Template(
        columns, title="upload", header_rows=("chinese",) if chinese else ("english",), example=example, width=22
    ).workbook()
