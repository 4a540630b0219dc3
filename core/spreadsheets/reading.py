"""The one reader of uploaded spreadsheets: the rows of an .xlsx or .csv file, one at a time, with
their row numbers as Excel shows them. Workbooks are opened read-only, so a large file is streamed
rather than loaded whole; CSV files may be UTF-8 or GB18030, as Chinese Excel saves them."""

import csv
import io
import zipfile
from itertools import islice
from pathlib import PurePath

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from .writing import FORMULA_STARTS

FORMATS = {".xlsx": "xlsx", ".csv": "csv"}
ACCEPTED = gettext_lazy(".xlsx (Excel) or .csv")
# Chinese Excel saves CSV in GB18030 (GBK) unless told otherwise; UTF-8 (with or without a BOM) is tried first.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(ValueError):
    """The upload is not a file the imports read; the message says why."""


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


def _open_workbook(content):
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(_("The file could not be opened as an Excel workbook (.xlsx).")) from error


def _xlsx_rows(content):
    workbook = _open_workbook(content)
    try:
        sheet = workbook.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def unguarded(cell):
    """A CSV cell as it was before an export guarded it: the exports write a leading apostrophe
    before text that a spreadsheet would run as a formula (+86 …, =…), so it is taken off again."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


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
        yield number, tuple(unguarded(cell) for cell in cells)


def count_rows(content, file_name, *, stop_after=None):
    """How many rows the file has, header included. A workbook usually says so itself; one written
    without its dimensions (as the console's own exports are) is counted by reading it, stopping
    once `stop_after` rows are passed (the answer is then `stop_after` + 1). An unreadable file
    counts 0: reading it will say what is wrong."""
    if file_format(file_name) == "csv":
        return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
    try:
        workbook = _open_workbook(content)
    except UnreadableFile:
        return 0
    try:
        sheet = workbook.worksheets[0]
        if sheet.max_row is not None:
            return sheet.max_row
        limit = None if stop_after is None else stop_after + 1
        return sum(1 for _row in islice(sheet.iter_rows(values_only=True), limit))
    finally:
        workbook.close()


def past_limit(count, max_rows, number, problems):
    """Whether row `number`, the file's `count`th, is one more than an import reads; the problem
    is noted on it, and the reader stops there."""
    if count <= max_rows:
        return False
    problems.add(
        number, "", _("A file may hold at most %(max)s rows; split it into several files.") % {"max": f"{max_rows:,}"}
    )
    return True


class Table:
    """An uploaded file's first sheet read against its columns (`core.spreadsheets.columns`).
    Reading the header adds its problems (a required column missing, a column named twice, an empty
    file) to `problems`; `names` then holds each column's header as the file writes it. Iterating
    gives (row number, {key: cell value}) for every row that holds anything, leaving out a second
    header row (the template's other language); a file with more than `max_rows` rows stops with a
    problem. After a header problem there are no rows."""

    def __init__(self, content, file_name, columns, problems, *, max_rows):
        self.columns, self.problems, self.max_rows = columns, problems, max_rows
        self.names, self.positions, self.count = {}, {}, 0
        self._rows = rows(content, file_name)
        self.header_row, header = next(self._rows, (None, None))
        if header is None:
            problems.add(None, "", _("The file is empty."))
            self.readable = False
            return
        self.positions, self.names, header_problems = columns.read_header(header)
        for key, message in header_problems:
            problems.add(self.header_row, key, message)
        self.readable = not header_problems

    def __iter__(self):
        if not self.readable:
            return
        for number, cells in self._rows:
            if number == self.header_row + 1 and self.columns.is_header_row(cells):
                continue
            self.count += 1
            if past_limit(self.count, self.max_rows, number, self.problems):
                return
            yield number, {key: cells[position] for position, key in self.positions.items() if position < len(cells)}
