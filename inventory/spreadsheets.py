"""Reading spreadsheet cells and headers as the person who typed them meant them; shared by the
product and stock imports here and the order import (orders may use inventory, not the reverse).

Excel hands numbers over as floats: a SKU or phone typed as a number arrives as 13800138000.0,
and an amount a formula made as 59.699999999999996. Headers are matched whatever their case,
surrounding spaces, underscores or full-width letters."""

import unicodedata
from datetime import datetime
from decimal import Decimal

CENT = Decimal("0.01")


def comparable_header(text):
    """A header cell as compared: full-width letters folded, case ignored, underscores, dashes and
    runs of spaces read as one space."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return " ".join(folded.replace("_", " ").replace("-", " ").split())


def cell_text(value):
    """A cell as text: whole numbers without “.0”, full-width letters and digits folded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return unicodedata.normalize("NFKC", str(value)).strip()


def cell_number(value):
    """A quantity or an amount as text, with the float noise of Excel formulas rounded away (a
    value within a billionth of a whole cent is that cent)."""
    if isinstance(value, float) and not value.is_integer():
        exact = Decimal(repr(value))
        cents = exact.quantize(CENT)
        return str(cents if abs(exact - cents) < Decimal("1e-9") else exact)
    return cell_text(value)
