"""Template workbooks to fill in for an import: the columns' headers (English, Chinese or both, one
row each), an example row, drop-down lists and checks that Excel applies while the person types,
and a help sheet that says what each column takes. Which lists and which example belong to an
import is its app's business; how they go into a workbook is this module's."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .writing import HEADER_FONT, workbook_bytes

# The template's drop-downs and checks reach this far down the sheet.
TEMPLATE_ROWS = 5_000
EXAMPLE_FONT = Font(italic=True, color="667085")
# Excel's day number of 2000-01-01: dates before it are typing mistakes.
FIRST_DAY = "36526"


@dataclass
class Template:
    """One import's template. `header_rows` says which headers head the sheet ("english",
    "chinese" or both, in that order); `lists` offers a drop-down of values for a column (a list
    in `strict_lists` refuses anything else); `whole_numbers`, `amounts` and `dates` are checked as
    such; `text` columns keep what is typed as text (long numbers, leading zeros); `notes`, when
    given, follow the columns on the help sheet."""

    columns: object
    title: str
    header_rows: tuple = ("english", "chinese")
    example: dict = field(default_factory=dict)
    lists: dict = field(default_factory=dict)
    strict_lists: tuple = ()
    whole_numbers: tuple = ()
    amounts: tuple = ()
    dates: tuple = ()
    text: tuple = ()
    wide: tuple = ()
    width: int = 14
    notes: tuple = None

    @property
    def first_data_row(self):
        return len(self.header_rows) + 1

    def workbook(self):
        """The template as .xlsx bytes."""
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = self.title
        letters = {column.key: get_column_letter(number) for number, column in enumerate(self.columns, start=1)}
        for number, column in enumerate(self.columns, start=1):
            for row, language in enumerate(self.header_rows, start=1):
                sheet.cell(row=row, column=number, value=getattr(column, language)).font = HEADER_FONT
            if self.example:
                cell = sheet.cell(row=self.first_data_row, column=number, value=self.example.get(column.key))
                cell.font = EXAMPLE_FONT
                if column.key in self.dates:
                    cell.number_format = "yyyy-mm-dd hh:mm"
        for key, letter in letters.items():
            dimension = sheet.column_dimensions[letter]
            dimension.width = 24 if key in self.wide else self.width
            if key in self.text:
                dimension.number_format = "@"
            elif key in self.dates:
                dimension.number_format = "yyyy-mm-dd hh:mm"
        self._validations(sheet, letters, self._lists_sheet(workbook))
        sheet.freeze_panes = f"A{self.first_data_row}"
        if self.notes is not None:
            self._help_sheet(workbook)
        return workbook_bytes(workbook)

    def _lists_sheet(self, workbook):
        """A hidden sheet with the values the drop-downs offer; returns the range of each list."""
        if not self.lists:
            return {}
        sheet = workbook.create_sheet("lists")
        sheet.sheet_state = "hidden"
        ranges = {}
        for number, (key, values) in enumerate(self.lists.items(), start=1):
            letter = get_column_letter(number)
            sheet.cell(row=1, column=number, value=key)
            for row, value in enumerate(values, start=2):
                sheet.cell(row=row, column=number, value=value)
            if values:
                ranges[key] = f"lists!${letter}$2:${letter}${len(values) + 1}"
        return ranges

    def _validations(self, sheet, letters, ranges):
        def add(key, validation, error):
            column = self.columns[key]
            validation.allow_blank = True
            validation.errorTitle = column.label
            validation.error = str(error)
            validation.add(f"{letters[key]}{self.first_data_row}:{letters[key]}{TEMPLATE_ROWS}")
            sheet.add_data_validation(validation)

        for key, source in ranges.items():
            validation = DataValidation(type="list", formula1=source, showErrorMessage=key in self.strict_lists)
            add(key, validation, self.columns[key].description)
        for key in self.whole_numbers:
            validation = DataValidation(type="whole", operator="greaterThan", formula1="0", showErrorMessage=True)
            add(key, validation, self.columns[key].description)
        for key in self.amounts:
            validation = DataValidation(
                type="decimal", operator="greaterThanOrEqual", formula1="0", showErrorMessage=True
            )
            add(key, validation, _("Enter an amount of zero or more."))
        for key in self.dates:
            validation = DataValidation(type="date", operator="greaterThan", formula1=FIRST_DAY, showErrorMessage=True)
            add(key, validation, self.columns[key].description)

    def _help_sheet(self, workbook):
        sheet = workbook.create_sheet("help")
        sheet.append([_("Column"), "列名", _("Required"), _("What to enter")])
        for cell in sheet[1]:
            cell.font = HEADER_FONT
        for column in self.columns:
            sheet.append([column.english, column.chinese, _("yes") if column.required else "", str(column.description)])
        if self.notes:
            sheet.append([])
            for note in self.notes:
                sheet.append([str(note)])
        for letter, width in zip("ABCD", (18, 12, 10, 90), strict=True):
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
            row[0].alignment = Alignment(wrap_text=True, vertical="top")
