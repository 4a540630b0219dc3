"""Reading the logistics uploads: the sheet of tracking numbers to dispatch and the sheet of
tracking events a carrier sends. Files are Excel (.xlsx) or CSV with English or Chinese headers;
this module only turns them into rows and says which cell could not be read. What the rows mean
is decided by logistics.selectors (preview) and logistics.services (confirm)."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from zipfile import BadZipFile

from django.conf import settings
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook

from .models import ExceptionKind, TrackingEvent

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
FIRST_DATA_ROW = 2  # row 1 holds the headers, as a person counts rows in Excel
# Besides ISO 8601, times as Chinese spreadsheets often write them.
SLASHED_TIME_LAYOUTS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # translated when shown
    headers: tuple  # accepted header texts, compared without case or surrounding spaces
    required: bool = True

    @property
    def template_headers(self):
        """(English, Chinese) header written into the downloadable template."""
        return self.headers[0], next(h for h in self.headers if not h.isascii())


DISPATCH_COLUMNS = (
    Column("order_number", gettext_lazy("Order number"), ("order number", "订单号", "订单编号", "order", "order no")),
    Column("carrier", gettext_lazy("Carrier"), ("carrier", "承运商", "快递公司", "物流公司")),
    Column(
        "tracking_number",
        gettext_lazy("Tracking number"),
        ("tracking number", "运单号", "快递单号", "物流单号", "tracking no"),
    ),
)

EVENT_COLUMNS = (
    Column(
        "tracking_number",
        gettext_lazy("Tracking number"),
        ("tracking number", "运单号", "快递单号", "物流单号", "tracking no"),
    ),
    Column("carrier", gettext_lazy("Carrier"), ("carrier", "承运商", "快递公司", "物流公司")),
    Column("occurred_at", gettext_lazy("Time"), ("time", "时间", "发生时间", "occurred at")),
    Column("status", gettext_lazy("Status"), ("status", "状态")),
    Column(
        "exception_kind", gettext_lazy("Exception kind"), ("exception kind", "异常类型", "exception"), required=False
    ),
    Column("location", gettext_lazy("Location"), ("location", "地点", "所在地"), required=False),
    Column("description", gettext_lazy("Description"), ("description", "描述", "说明", "详情"), required=False),
)


@dataclass
class CellError:
    """What is wrong, where: the row as Excel numbers it (None for the file as a whole) and the
    column's key ("" for the file as a whole)."""

    row: object
    column: str
    message: str


@dataclass
class Sheet:
    rows: list = field(default_factory=list)  # dicts: "row" (Excel row number) and one value per column key
    errors: list = field(default_factory=list)


class UnreadableFile(Exception):
    pass


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Excel keeps long numbers (order or tracking numbers typed as numbers) as floats.
        return str(int(value))
    if isinstance(value, datetime | date):
        return value
    return str(value).strip()


def _raw_rows(uploaded):
    """The file's rows as lists of cells, whichever format it is in; no more than the header, the
    most rows an upload may have, and one to tell that there are too many."""
    name = (getattr(uploaded, "name", "") or "").lower()
    if uploaded.size > MAX_UPLOAD_BYTES:
        raise UnreadableFile(_("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)})
    content = uploaded.read()
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
            except UnicodeDecodeError:
                continue
            return list(islice(csv.reader(io.StringIO(text)), MAX_ROWS + 2))
        raise UnreadableFile(_("The CSV file is neither UTF-8 nor GB18030 text."))
    if name.endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (BadZipFile, KeyError, OSError, ValueError):
            raise UnreadableFile(_("The file could not be read as an Excel workbook.")) from None
        try:
            return [list(row) for row in islice(workbook.worksheets[0].iter_rows(values_only=True), MAX_ROWS + 2)]
        finally:
            workbook.close()
    raise UnreadableFile(_("Upload an Excel (.xlsx) or CSV (.csv) file."))


def read_sheet(uploaded, columns):
    """The data rows of an upload, keyed by column, with the problems found reading it: a missing
    header names the column (row 1), an empty required cell names its row and column. Blank rows
    are skipped."""
    sheet = Sheet()
    try:
        raw = _raw_rows(uploaded)
    except UnreadableFile as error:
        sheet.errors.append(CellError(None, "", str(error)))
        return sheet
    if not raw:
        sheet.errors.append(CellError(None, "", _("The file is empty.")))
        return sheet
    headers = [str(cell).strip().lower() if cell is not None else "" for cell in raw[0]]
    positions = {}
    for column in columns:
        found = next((i for i, header in enumerate(headers) if header in column.headers), None)
        if found is not None:
            positions[column.key] = found
        elif column.required:
            sheet.errors.append(
                CellError(
                    1,
                    column.key,
                    _("This column is missing: add a header “%(header)s”.") % {"header": column.template_headers[0]},
                )
            )
    if sheet.errors:
        return sheet
    data = raw[1:]
    if len(data) > MAX_ROWS:
        too_many = _("The file has more than %(max)s rows; split it.") % {"max": MAX_ROWS}
        sheet.errors.append(CellError(None, "", too_many))
        return sheet
    for offset, cells in enumerate(data):
        values = {key: _cell_text(cells[index]) if index < len(cells) else "" for key, index in positions.items()}
        if all(value == "" for value in values.values()):
            continue
        row_number = FIRST_DATA_ROW + offset
        for column in columns:
            values.setdefault(column.key, "")
            if column.required and values[column.key] == "":
                sheet.errors.append(CellError(row_number, column.key, _("This cell is empty.")))
        sheet.rows.append({"row": row_number, **values})
    if not sheet.rows and not sheet.errors:
        sheet.errors.append(CellError(None, "", _("The file has headers but no rows.")))
    return sheet


def _choice_lookup(choices):
    """Every way a choice may be written: its code, and its label in each of the shop's languages."""
    lookup = {}
    for value, label in choices:
        lookup[value.lower()] = value
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                lookup[str(label).strip().lower()] = value
    return lookup


def read_dispatch_rows(uploaded):
    """The rows of a dispatch sheet: order number, carrier, tracking number."""
    return read_sheet(uploaded, DISPATCH_COLUMNS)


def read_event_rows(uploaded):
    """The rows of a tracking events file with the status and exception kind as codes (written as
    the code or as the label in English or Chinese) and the time as an aware datetime; a cell that
    cannot be read is an error and leaves None (status, time) or "" (exception kind) in its place."""
    sheet = read_sheet(uploaded, EVENT_COLUMNS)
    statuses = _choice_lookup(TrackingEvent.Status.choices)
    kinds = _choice_lookup(ExceptionKind.choices)
    for row in sheet.rows:
        row["status"] = _read_cell(
            sheet,
            row,
            "status",
            lambda text: statuses.get(str(text).lower()),
            _("Unknown status “%(value)s”: use one of %(choices)s."),
            choices=TrackingEvent.Status.values,
        )
        row["exception_kind"] = (
            _read_cell(
                sheet,
                row,
                "exception_kind",
                lambda text: kinds.get(str(text).lower()),
                _("Unknown exception kind “%(value)s”: use one of %(choices)s."),
                choices=ExceptionKind.values,
            )
            or ""
        )
        row["occurred_at"] = _read_cell(
            sheet,
            row,
            "occurred_at",
            parse_time,
            _("“%(value)s” is not a time: write it as 2025-03-01 14:30 (shop time) or 2025-03-01T14:30:00+08:00."),
        )
        row["location"], row["description"] = str(row["location"]), str(row["description"])
    return sheet


def _read_cell(sheet, row, key, read, refusal, choices=()):
    """A cell read by `read`, or None: left empty (already reported if required) or unreadable
    (reported now, with the value as written)."""
    written = row[key]
    if written == "":
        return None
    value = read(written)
    if value is None:
        sheet.errors.append(CellError(row["row"], key, refusal % {"value": written, "choices": ", ".join(choices)}))
    return value


def parse_time(value):
    """An aware datetime from an Excel date cell or a text; a time without an offset is shop time."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        parsed = _parse_text_time(str(value).strip())
        if parsed is None:
            return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _parse_text_time(text):
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None
    if parsed is not None:
        return parsed
    for layout in SLASHED_TIME_LAYOUTS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return None


def template_workbook(columns, example):
    """An Excel template: the headers in the person's language and one example row."""
    chinese = translation.get_language() and translation.get_language().startswith("zh")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([column.template_headers[1 if chinese else 0] for column in columns])
    sheet.append([example.get(column.key, "") for column in columns])
    for letter in "ABCDEFG"[: len(columns)]:
        sheet.column_dimensions[letter].width = 22
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
