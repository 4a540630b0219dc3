"""How an order file's own cells are read, beyond what every import reads the same way
(`core.spreadsheets.cells`): payment methods, by code, by name in any of the shop's languages or
by the Chinese names people write."""

from functools import cache

from django.utils.translation import gettext as _

from core.spreadsheets.cells import CellError, choice_names, comparable, text

from ..models import PaymentMethod

PAYMENT_METHOD_NAMES = {
    "银行卡": PaymentMethod.CARD,
    "电子钱包": PaymentMethod.E_WALLET,
    "银行转账": PaymentMethod.BANK_TRANSFER,
    "货到付款": PaymentMethod.COD,
    "分期": PaymentMethod.INSTALMENTS,
}


@cache
def _payment_methods():
    return choice_names(PaymentMethod.choices, PAYMENT_METHOD_NAMES)


def payment_method(value):
    """A payment method code (any case) or its name, as the code."""
    written = text(value)
    method = _payment_methods().get(comparable(written))
    if method is None:
        raise CellError(
            _("Unknown payment method “%(method)s”: use one of %(codes)s, or %(names)s.")
            % {
                "method": written,
                "codes": ", ".join(PaymentMethod.values),
                "names": "、".join(PAYMENT_METHOD_NAMES),
            }
        )
    return method
