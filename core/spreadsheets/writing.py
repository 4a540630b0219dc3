"""The one writer of spreadsheets the console hands out: Excel through openpyxl's write-only mode
(rows go to the sheet one by one and are never kept, so 100,000 rows hold no more memory than
1,000) and CSV in UTF-8 with a byte-order mark, so Excel reads Chinese. Text from customers,
channels or staff is written so that no spreadsheet runs it as a formula.

A table to write has a `title`, its `headers` and `rows(guard_text)`, which yields each row as a
list of cell values with free text passed through `guard_text`."""

import csv
import io
import tempfile
import unicodedata

from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Rows between two progress reports, and rows per chunk of a CSV stream.
CHUNK_ROWS = 2_000
# Spreadsheet files stay in memory up to this size while they are written, then move to disk.
SPOOL_BYTES = 8 * 1024 * 1024
HEADER_FONT = Font(bold=True)
# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Format:
    XLSX = "xlsx"
    CSV = "csv"
    CHOICES = [(XLSX, _("Excel (.xlsx)")), (CSV, _("CSV (UTF-8, opens in Excel)"))]
    CONTENT_TYPES = {XLSX: XLSX_CONTENT_TYPE, CSV: "text/csv; charset=utf-8"}


def writable(value):
    """Text without the characters XML cannot hold (a control character pasted into a name)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def csv_text(value):
    """A leading apostrophe keeps text that starts with = + - @ from running as a formula (OWASP's
    advice for CSV files); the reader takes it off again (`reading.unguarded`)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def set_text(cell, value):
    """Put text into a cell of an ordinary (not write-only) sheet as text, never as a formula."""
    cell.value = writable(value)
    cell.data_type = "s"


def display_width(value):
    """The characters a column needs to show the value: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in str(value))


def header_sheet(workbook, title, headers):
    """A write-only sheet with its bold header row frozen at the top, and the function that makes
    free text safe in it."""
    sheet = workbook.create_sheet(title=str(capfirst(title))[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, 1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, 2 * len(header) + 4))
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = HEADER_FONT
        header_cells.append(cell)
    sheet.append(header_cells)

    def xlsx_text(value):
        value = writable(value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    return sheet, xlsx_text


def _counting(rows, progress):
    """Pass rows through, telling `progress` how many have gone every CHUNK_ROWS rows and at the end."""
    written = 0
    for row in rows:
        yield row
        written += 1
        if progress and written % CHUNK_ROWS == 0:
            progress(written)
    if progress and written % CHUNK_ROWS:
        progress(written)


def write_xlsx(table, out, *, progress=None):
    """Write the table to the binary file `out` as one sheet."""
    workbook = Workbook(write_only=True)
    sheet, xlsx_text = header_sheet(workbook, table.title, table.headers)
    for row in _counting(table.rows(xlsx_text), progress):
        sheet.append(row)
    workbook.save(out)


def write_xlsx_sheets(sheets, out):
    """Small tables worked out in Python, one sheet each, to the binary file `out`: `sheets` holds
    (title, headers, rows). Every text cell is made safe as in write_xlsx."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet, xlsx_text = header_sheet(workbook, title, [str(header) for header in headers])
        for row in rows:
            sheet.append([xlsx_text(str(value)) if isinstance(value, Promise | str) else value for value in row])
    workbook.save(out)


def csv_chunks(table, *, progress=None):
    """The table as CSV in UTF-8 with a byte-order mark, in chunks of bytes of about CHUNK_ROWS
    rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for written, row in enumerate(_counting(table.rows(csv_text), progress), 1):
        writer.writerow(row)
        if written % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def write_file(table, file_format, out, *, progress=None):
    if file_format == Format.XLSX:
        write_xlsx(table, out, progress=progress)
    else:
        for chunk in csv_chunks(table, progress=progress):
            out.write(chunk)


def spooled_file():
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)


def workbook_bytes(workbook):
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
