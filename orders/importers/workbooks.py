"""The files the order import hands out: the template to fill in, and a copy of an uploaded file
with an errors column, so the operator corrects the rows in place and uploads it again."""

import csv
import io
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from inventory.models import Product

from ..models import Channel, PaymentMethod
from . import reading
from .cells import PAYMENT_METHOD_NAMES
from .columns import COLUMNS_BY_KEY, ORDER_COLUMNS
from .orders import EXAMPLE_ORDER_ID

# The template's drop-downs and formats reach this far down the sheet.
TEMPLATE_ROWS = 5_000
# Beyond this many products the SKU column has no drop-down (it would slow Excel down).
LISTED_SKUS = 5_000
ERRORS_HEADER = "errors / 错误"
HEADER_FONT = Font(bold=True)
EXAMPLE_FONT = Font(italic=True, color="667085")
ERROR_FILL = PatternFill("solid", fgColor="FEE4E2")
TEXT_COLUMNS = ("channel_order_id", "phone", "postcode")
MONEY_COLUMNS = ("unit_price", "shipping_fee", "discount", "paid_amount")


def _example_row():
    channel = Channel.objects.filter(active=True).order_by("pk").first()
    product = Product.objects.filter(active=True).order_by("sku").first()
    return {
        "channel": channel.code if channel else "web",
        "channel_order_id": EXAMPLE_ORDER_ID,
        "order_date": timezone.localtime().replace(second=0, microsecond=0, tzinfo=None),
        "recipient": "王小明",
        "phone": "138 0013 8000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号 2 幢 301 室",
        "postcode": "310012",
        "sku": product.sku if product else "SKU-0001",
        "quantity": 2,
        "unit_price": None,
        "shipping_fee": Decimal("0.00"),
        "discount": Decimal("0.00"),
        "payment_method": "货到付款",
        "paid_amount": Decimal("0.00"),
        "note": _("Example row: it is never imported. Replace it with your orders."),
    }


def _lists_sheet(workbook):
    """A hidden sheet with the values the drop-downs offer; returns the range of each list."""
    sheet = workbook.create_sheet("lists")
    sheet.sheet_state = "hidden"
    lists = {
        "channel": list(Channel.objects.filter(active=True).order_by("code").values_list("code", flat=True)),
        "payment_method": list(PaymentMethod.values) + list(PAYMENT_METHOD_NAMES),
    }
    skus = list(Product.objects.filter(active=True).order_by("sku").values_list("sku", flat=True)[: LISTED_SKUS + 1])
    if len(skus) <= LISTED_SKUS:
        lists["sku"] = skus
    ranges = {}
    for number, (key, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(number)
        sheet.cell(row=1, column=number, value=key)
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=number, value=value)
        if values:
            ranges[key] = f"lists!${letter}$2:${letter}${len(values) + 1}"
    return ranges


def _validations(sheet, ranges):
    letters = {column.key: get_column_letter(number) for number, column in enumerate(ORDER_COLUMNS, start=1)}

    def add(key, validation):
        validation.add(f"{letters[key]}3:{letters[key]}{TEMPLATE_ROWS}")
        sheet.add_data_validation(validation)

    for key, source in ranges.items():
        add(
            key,
            DataValidation(
                type="list",
                formula1=source,
                allow_blank=True,
                showErrorMessage=key != "sku",
                errorTitle=COLUMNS_BY_KEY[key].label,
                error=str(COLUMNS_BY_KEY[key].description),
            ),
        )
    add(
        "quantity",
        DataValidation(
            type="whole",
            operator="greaterThan",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=COLUMNS_BY_KEY["quantity"].label,
            error=str(COLUMNS_BY_KEY["quantity"].description),
        ),
    )
    for key in MONEY_COLUMNS:
        add(
            key,
            DataValidation(
                type="decimal",
                operator="greaterThanOrEqual",
                formula1="0",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=COLUMNS_BY_KEY[key].label,
                error=_("Enter an amount of zero or more."),
            ),
        )
    add(
        "order_date",
        DataValidation(
            type="date",
            operator="greaterThan",
            formula1="36526",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=COLUMNS_BY_KEY["order_date"].label,
            error=str(COLUMNS_BY_KEY["order_date"].description),
        ),
    )
    return letters


def template_workbook():
    """The order import template as .xlsx bytes: English and Chinese header rows, an example row,
    drop-downs for channel, SKU and payment method, checks on quantities, amounts and dates, and
    a sheet explaining each column in the reader's language."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "orders"
    ranges = _lists_sheet(workbook)
    example = _example_row()
    for number, column in enumerate(ORDER_COLUMNS, start=1):
        for row, value in ((1, column.english), (2, column.chinese)):
            cell = sheet.cell(row=row, column=number, value=value)
            cell.font = HEADER_FONT
        cell = sheet.cell(row=3, column=number, value=example[column.key])
        cell.font = EXAMPLE_FONT
    letters = _validations(sheet, ranges)
    for key, letter in letters.items():
        dimension = sheet.column_dimensions[letter]
        dimension.width = 24 if key in ("address", "note") else 14
        if key in TEXT_COLUMNS:
            dimension.number_format = "@"
    sheet.column_dimensions[letters["order_date"]].number_format = "yyyy-mm-dd hh:mm"
    sheet.cell(row=3, column=list(letters).index("order_date") + 1).number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A3"
    _help_sheet(workbook)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _help_sheet(workbook):
    sheet = workbook.create_sheet("help")
    sheet.append([_("Column"), "列名", _("Required"), _("What to enter")])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
    for column in ORDER_COLUMNS:
        sheet.append([column.english, column.chinese, _("yes") if column.required else "", str(column.description)])
    sheet.append([])
    for note in (
        _(
            "One row per order line. Rows with the same channel and channel order id are one order; the order's "
            "own values (recipient, address, payment ...) may be left empty in its further rows."
        ),
        _("Headers may be in English or Chinese; the second header row may be deleted."),
        _("The example row (channel order id %(example)s) is never imported.") % {"example": EXAMPLE_ORDER_ID},
        _("Uploading the same file again creates nothing twice: orders already imported are skipped."),
    ):
        sheet.append([note])
    for letter, width in zip("ABCD", (18, 12, 10, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")


def _messages_by_row(errors, headers):
    """Each row's errors as one text, the columns named as the file names them."""
    by_row = {}
    for error in errors:
        column = error["column"]
        named = headers.get(column) or (COLUMNS_BY_KEY[column].label if column in COLUMNS_BY_KEY else "")
        text = f"{named}: {error['message']}" if named else error["message"]
        by_row.setdefault(error["row"], []).append(text)
    return {row: "; ".join(texts) for row, texts in by_row.items()}


def errors_copy(job):
    """The uploaded file with an errors column after its last column, in the format it came in,
    as (bytes, file name). The column's header names it; errors about the file as a whole follow
    that header."""
    messages = _messages_by_row(job.errors, job.summary.get("headers", {}))
    content, file_name = bytes(job.source), job.file_name
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
            writer.writerow(cells + [errors or ""])
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
