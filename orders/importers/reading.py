"""Reading the rows of an uploaded .xlsx or .csv file, one at a time, with their sheet row numbers.
Workbooks are opened read-only, so a large file is streamed rather than loaded whole."""

import csv
import io
import zipfile
from pathlib import PurePath

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

FORMATS = {".xlsx": "xlsx", ".csv": "csv"}
ACCEPTED = gettext_lazy(".xlsx (Excel) or .csv")
# Chinese Excel saves CSV in GB18030 (GBK) unless told otherwise; UTF-8 (with or without a BOM) is tried first.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(ValueError):
    """The upload is not a file this importer reads; the message says why."""


def file_format(file_name):
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix not in FORMATS:
        raise UnreadableFile(
            _("“%(name)s” is not a file the import reads: save it as %(formats)s.")
            % {"name": file_name, "formats": ACCEPTED}
        )
    return FORMATS[suffix]


def rows(content, file_name, *, with_empty=False):
    """Yield (row number, tuple of cell values) for every row of the file's first sheet, the
    header included; empty rows are left out unless `with_empty`."""
    table = _csv_rows(content) if file_format(file_name) == "csv" else _xlsx_rows(content)
    for number, cells in table:
        if with_empty or any(cell is not None and str(cell).strip() for cell in cells):
            yield number, cells


def _xlsx_rows(content):
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(_("The file could not be opened as an Excel workbook (.xlsx).")) from error
    try:
        sheet = workbook.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def _csv_rows(content):
    for encoding in CSV_ENCODINGS:
        try:
            decoded = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile(_("The CSV file is neither UTF-8 nor GB18030 text; save it as “CSV UTF-8”."))
    for number, cells in enumerate(csv.reader(io.StringIO(decoded, newline="")), start=1):
        yield number, tuple(cells)


def count_rows(content, file_name):
    """The number of rows the file says it has, cheaply (without reading every row), or None when
    it does not say: a workbook written without its dimensions."""
    if file_format(file_name) == "csv":
        return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    try:
        return workbook.worksheets[0].max_row
    finally:
        workbook.close()
