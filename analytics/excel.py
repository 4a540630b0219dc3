"""A dashboard table as an Excel workbook: the same rows as on the page, numbers as numbers (money with
two decimals, rates as percentages, durations as hours and minutes) so they can be summed and charted.
Text goes in as every export writes it (`core.spreadsheets.writing`): never as a formula."""

from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from core.spreadsheets.writing import HEADER_FONT, display_width, set_text, workbook_bytes

from .dashboard import Cell, text

FORMATS = {
    "count": "#,##0",
    "number": "#,##0.0",
    "money": "#,##0.00",
    "percent": "0.0%",
    "duration": "[h]:mm",
    "date": "yyyy-mm-dd",
}
HEADER_FILL = PatternFill("solid", fgColor="E6F1F3")
HIGHLIGHT_FILL = PatternFill("solid", fgColor="FEF3F2")


def _value(value, kind):
    """(cell value, number format) of a table value."""
    if isinstance(value, Cell):
        return _value(value.value, value.kind)
    if value is None:
        return None, None
    if kind == "duration":
        return Decimal(value) / 86400, FORMATS["duration"]
    if kind in ("count", "number", "money", "percent") and isinstance(value, (int, Decimal)):
        return value, FORMATS[kind]
    if kind == "date" and isinstance(value, date):
        return value, FORMATS["date"]
    return text(value, kind), None


def workbook(table, *, subtitle):
    """The table as .xlsx bytes: its title, the filters it was made with, a header row, the rows and
    its note."""
    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([subtitle])
    sheet.append([])
    sheet.append([column.label for column in table.columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    widths = [display_width(column.label) + 2 for column in table.columns]
    for index, row in enumerate(table.rows):
        sheet.append([None] * len(row))
        for position, (column, raw) in enumerate(zip(table.columns, row, strict=True)):
            cell = sheet.cell(row=sheet.max_row, column=position + 1)
            value, number_format = _value(raw, column.kind)
            if isinstance(value, str):
                set_text(cell, value)
            else:
                cell.value = value
            if number_format:
                cell.number_format = number_format
            if index in table.highlighted_rows:
                cell.fill = HIGHLIGHT_FILL
            widths[position] = max(widths[position], min(display_width(text(raw, column.kind)) + 2, 60))
    if table.note:
        sheet.append([])
        sheet.append([table.note])
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    return workbook_bytes(book)
