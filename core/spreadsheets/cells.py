"""Reading one cell of a spreadsheet the way the person who typed it meant it, the same way in
every import. Excel hands numbers over as floats (a phone typed as a number arrives as
13800138000.0, a price a formula made as 59.699999999999996), dates as datetimes or as day counts,
and people write full-width letters and digits, Chinese names for choices and 是/否 for yes and
no. These functions turn that into text and values; whether a value is acceptable is the service's
decision, not theirs. A cell that cannot be read as its column's kind raises `CellError`, whose
message says what to write."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

CENT = Decimal("0.01")
# Floats carry whole numbers exactly only up to 2**53; a longer number typed into Excel as a
# number (a marketplace order number) has lost its last digits before we see it.
EXACT_FLOAT_DIGITS = 15
DATE_TEXT = re.compile(
    r"^(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?"
    r"(?:[ T]+(?P<hour>\d{1,2})[:：](?P<minute>\d{2})(?:[:：](?P<second>\d{2}))?)?$"
)
# Excel counts days from 1899-12-30; this is the last day it can show (9999-12-31).
LAST_EXCEL_DAY = 2958465
# How people write yes and no in a spreadsheet.
YES = {"1", "true", "yes", "y", "是", "√", "✓", "x"}
NO = {"0", "false", "no", "n", "否", "×"}


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says what to write."""


def folded(text):
    """Full-width letters, digits and punctuation as their usual forms (Ａ１＋ as A1+)."""
    return unicodedata.normalize("NFKC", text)


def comparable(text):
    """A header or a name as compared: full-width letters folded, case ignored, underscores, dashes
    and runs of spaces read as one space."""
    return " ".join(folded(str(text or "")).casefold().replace("_", " ").replace("-", " ").split())


def is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def text(value):
    """A cell as text: whole numbers without “.0”, full-width letters and digits folded, spaces
    around it trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return folded(str(value)).strip()


def number_text(value):
    """A quantity or an amount as text, with the float noise of Excel formulas rounded away (a
    value within a billionth of a whole cent is that cent)."""
    if isinstance(value, float) and not value.is_integer():
        exact = Decimal(repr(value))
        cents = exact.quantize(CENT)
        return str(cents if abs(exact - cents) < Decimal("1e-9") else exact)
    return text(value)


def identifier(value):
    """An order number, a tracking number or a code: like text, but a number Excel has rounded is
    refused."""
    if isinstance(value, float) and value.is_integer() and len(str(int(abs(value)))) > EXACT_FLOAT_DIGITS:
        raise CellError(
            _(
                "Excel stored this long number as a number and lost its last digits; "
                "format the column as text and enter it again."
            )
        )
    return text(value)


def amount(value):
    """An amount of money as a Decimal, or None for an empty cell. Its range is the service's
    concern."""
    written = number_text(value).replace(",", "")
    if not written:
        return None
    try:
        parsed = Decimal(written)
    except InvalidOperation:
        raise CellError(_("Enter an amount such as 12.50.")) from None
    if not parsed.is_finite():
        raise CellError(_("Enter an amount such as 12.50."))
    return parsed


def whole_number(value):
    """A whole number, or None for an empty cell."""
    written = number_text(value)
    if not written:
        return None
    try:
        parsed = Decimal(written)
    except InvalidOperation:
        raise CellError(_("Enter a whole number.")) from None
    if not parsed.is_finite() or parsed != parsed.to_integral_value():
        raise CellError(_("Enter a whole number."))
    return int(parsed)


def yes_no(value):
    """Yes or no, in English or Chinese (是/否) or as 1/0; None for an empty cell."""
    written = text(value).casefold()
    if not written:
        return None
    if written in YES:
        return True
    if written in NO:
        return False
    raise CellError(_("Write yes or no (是 / 否)."))


def moment(value):
    """A date or a date and time: an Excel date, a day count, or text such as 2026-11-20,
    2026/11/20 14:30, 2026年11月20日 or an ISO timestamp with its offset. Without an offset it is
    shop time (naive); `aware_moment` makes it aware."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= LAST_EXCEL_DAY:
        return from_excel(value)
    written = text(value)
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


def aware_moment(value):
    """A moment as an aware datetime: one written without an offset is shop time."""
    parsed = moment(value)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def choice_names(choices, more_names=None):
    """Every way a choice may be written, as `comparable` gives it: its code, its label in each of
    the shop's languages, and the names in `more_names` (name → code)."""
    names = {}
    for code, label in choices:
        names[comparable(code)] = code
        for language, _language_name in settings.LANGUAGES:
            with translation.override(language):
                names[comparable(str(label))] = code
    names.update({comparable(name): code for name, code in (more_names or {}).items()})
    return names
