"""Reading one cell of a spreadsheet the way a person meant it. Excel hands over numbers as floats
(a phone typed as a number arrives as 13800138000.0, a price as 59.699999999999996 when a formula
made it), dates as datetimes or as day counts, and people write Chinese names for payment methods
and full-width digits; these functions turn that into the text and values intake reads. Whether
a value is acceptable is intake's decision, not theirs."""

import re
from datetime import date, datetime

from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

from inventory.spreadsheets import cell_text

from ..models import PaymentMethod

# Floats carry whole numbers exactly only up to 2**53; a longer number typed into Excel as a
# number (a marketplace order number) has lost its last digits before we see it.
EXACT_FLOAT_DIGITS = 15
PAYMENT_METHOD_NAMES = {
    "银行卡": PaymentMethod.CARD,
    "电子钱包": PaymentMethod.E_WALLET,
    "银行转账": PaymentMethod.BANK_TRANSFER,
    "货到付款": PaymentMethod.COD,
    "分期": PaymentMethod.INSTALMENTS,
}
DATE_TEXT = re.compile(
    r"^(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?"
    r"(?:[ T]+(?P<hour>\d{1,2})[:：](?P<minute>\d{2})(?:[:：](?P<second>\d{2}))?)?$"
)
# Excel counts days from 1899-12-30; this is the last day it can show (9999-12-31).
LAST_EXCEL_DAY = 2958465


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says what to write."""


def is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def identifier(value):
    """An order number or code: like text, but a number Excel has rounded is refused."""
    if isinstance(value, float) and value.is_integer() and len(str(int(abs(value)))) > EXACT_FLOAT_DIGITS:
        raise CellError(
            _(
                "Excel stored this long number as a number and lost its last digits; "
                "format the column as text and enter it again."
            )
        )
    return cell_text(value)


def payment_method(value):
    """A payment method code (any case) or its Chinese or English name, as the code."""
    written = cell_text(value)
    if written in PAYMENT_METHOD_NAMES:
        return PAYMENT_METHOD_NAMES[written]
    folded = written.casefold()
    for method in PaymentMethod:
        if folded in (method.value, str(method.label).casefold()):
            return method.value
    raise CellError(
        _("Unknown payment method “%(method)s”: use one of %(codes)s, or %(names)s.")
        % {"method": written, "codes": ", ".join(PaymentMethod.values), "names": "、".join(PAYMENT_METHOD_NAMES)}
    )


def moment(value):
    """A date or date and time: an Excel date, a day count, or text such as 2026-11-20,
    2026/11/20 14:30 or an ISO timestamp with its offset. Without an offset it is shop time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= LAST_EXCEL_DAY:
        return from_excel(value)
    written = cell_text(value)
    match = DATE_TEXT.match(written)
    try:
        if match:
            parts = {name: int(part) for name, part in match.groupdict().items() if part is not None}
            return datetime(**parts)
        return datetime.fromisoformat(written)
    except ValueError:
        raise CellError(
            _("“%(value)s” is not a date: write it as 2026-11-20 or 2026-11-20 14:30, or use an Excel date.")
            % {"value": written}
        ) from None
