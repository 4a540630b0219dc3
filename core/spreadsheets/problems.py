"""What is wrong with an uploaded file, said the same way by every import: each problem has the row
as Excel numbers it (None for the file as a whole), the column it is in (named as the file's header
names it) and a sentence the operator understands; every problem of the file is reported at once,
and the operator may download the file itself with an errors column beside the rows to correct."""

import csv
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import PatternFill

from ..jobs import problem
from . import reading
from .writing import HEADER_FONT, csv_text

ERRORS_HEADER = "errors / 错误"
ERROR_FILL = PatternFill("solid", fgColor="FEE4E2")
# The most problems kept for the preview and the errors copy; all of them are counted.
MAX_PROBLEMS = 20_000


class Problems:
    """Problems by row and column, each cell named once, at most MAX_PROBLEMS kept."""

    def __init__(self):
        self.items, self.cells, self.rows, self.count = [], set(), set(), 0

    def add(self, row, column, message):
        if (row, column) in self.cells:
            return
        self.cells.add((row, column))
        self.rows.add(row)
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(problem(row, column, message))

    def add_refusal(self, row, error):
        """A service's refusal (ValidationError) of one row: each field's messages on the column of
        the same key, a refusal of the row as a whole on no column."""
        for name, messages in error.message_dict.items():
            self.add(row, "" if name == "__all__" else name, " ".join(messages))

    def __bool__(self):
        return bool(self.count)

    def sorted(self):
        return sorted(self.items, key=lambda item: (item["row"] or 0, item["column"]))


def named(errors, names, columns):
    """Stored problems as the console lists them, each column named as the file names it."""
    return [{**error, "column": columns.name(error["column"], names)} for error in errors]


def _messages_by_row(errors, names, columns):
    by_row = {}
    for error in named(errors, names, columns):
        text = f"{error['column']}: {error['message']}" if error["column"] else error["message"]
        by_row.setdefault(error["row"], []).append(text)
    return {row: "; ".join(texts) for row, texts in by_row.items()}


def errors_copy(job, columns, *, upload=None):
    """The job's uploaded file (or `upload`, one (file name, bytes) of several the job holds, the one
    its rows are numbered in) with an errors column after its last column, in the format it came in,
    as (bytes, file name). The column's header names it; problems of the file as a whole follow
    that header."""
    messages = _messages_by_row(job.errors, job.summary.get("headers", {}), columns)
    file_name, content = upload or (job.file_name, bytes(job.source))
    header_row, width = None, 0
    for number, cells in reading.rows(content, file_name):
        header_row = header_row or number
        width = max(width, len(cells))
    header_text = ": ".join(
        filter(
            None,
            [
                ERRORS_HEADER,
                "; ".join(filter(None, [messages.pop(None, ""), messages.pop(header_row, "")])),
            ],
        )
    )
    table = (
        (
            number,
            list(cells) + [None] * (width - len(cells)),
            header_text if number == header_row else messages.get(number),
        )
        for number, cells in reading.rows(content, file_name, with_empty=True)
    )
    stem = file_name.rsplit(".", 1)[0]
    if reading.file_format(file_name) == "csv":
        output = io.StringIO()
        writer = csv.writer(output)
        for _number, cells, errors in table:
            writer.writerow([csv_text(cell) if cell else cell for cell in cells] + [errors or ""])
        return output.getvalue().encode("utf-8-sig"), f"{stem}-errors.csv"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for number, cells, errors in table:
        if not errors:
            sheet.append(cells)
            continue
        cell = WriteOnlyCell(sheet, value=errors)
        if number == header_row:
            cell.font = HEADER_FONT
        else:
            cell.fill = ERROR_FILL
        sheet.append(cells + [cell])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue(), f"{stem}-errors.xlsx"
