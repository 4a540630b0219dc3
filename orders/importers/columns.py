"""The columns of an order file: their English and Chinese headers, which are required, and how a
header cell written by a person is recognised (case, surrounding spaces, underscores and
full-width letters do not matter)."""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl.utils import get_column_letter

from inventory.spreadsheets import comparable_header


@dataclass(frozen=True)
class Column:
    key: str
    chinese: str
    required: bool
    per_line: bool
    description: str

    @property
    def english(self):
        return self.key

    @property
    def label(self):
        """How staff see the column named in a message: both headers, whichever the file used."""
        return f"{self.english} / {self.chinese}"


ORDER_COLUMNS = (
    Column("channel", "渠道", True, False, _("Channel code or name, as set up under Channels.")),
    Column(
        "channel_order_id",
        "渠道订单号",
        True,
        False,
        _("The channel's own order number. Rows with the same channel and number are one order."),
    ),
    Column(
        "order_date",
        "下单时间",
        False,
        False,
        _("When the customer ordered: an Excel date or text such as 2026-11-20 14:30. Empty: now."),
    ),
    Column("recipient", "收货人", True, False, _("Who receives the parcel.")),
    Column("phone", "手机号", True, False, _("Spaces, dashes, a +86 prefix and full-width digits are fine.")),
    Column("province", "省", True, False, _("Province.")),
    Column("city", "市", True, False, _("City.")),
    Column("district", "区", False, False, _("District, where the city has them.")),
    Column("address", "详细地址", True, False, _("Street, building and room.")),
    Column("postcode", "邮编", False, False, _("Postcode.")),
    Column("sku", "SKU", True, True, _("The product's SKU; one row per order line.")),
    Column("quantity", "数量", True, True, _("Units of this SKU: a whole number greater than zero.")),
    Column(
        "unit_price",
        "单价",
        False,
        True,
        _("Price per unit as sold; empty means the catalogue price. Needs the price permission."),
    ),
    Column("shipping_fee", "运费", False, False, _("Shipping charged for the whole order.")),
    Column("discount", "优惠", False, False, _("Discount on the whole order. Needs the price permission.")),
    Column(
        "payment_method",
        "支付方式",
        True,
        False,
        _("card, e_wallet, bank_transfer, cod or instalments; or 银行卡, 电子钱包, 银行转账, 货到付款, 分期."),
    ),
    Column("paid_amount", "已付金额", False, False, _("What the customer has paid already; 0 for cash on delivery.")),
    Column("note", "备注", False, False, _("Special instructions for the order.")),
)
COLUMNS_BY_KEY = {column.key: column for column in ORDER_COLUMNS}


def header_lookup(columns):
    lookup = {}
    for column in columns:
        lookup[comparable_header(column.english)] = column.key
        lookup[comparable_header(column.chinese)] = column.key
    return lookup


def read_header(cells, columns):
    """Match a header row to `columns`. Returns (key by cell position, problems): problems are
    (column key or "", message) for a required column that is missing or a column named twice."""
    lookup = header_lookup(columns)
    positions, problems = {}, []
    seen = {}
    for position, cell in enumerate(cells):
        key = lookup.get(comparable_header(cell))
        if key is None:
            continue
        if key in seen:
            problems.append(
                (
                    key,
                    gettext("The column “%(header)s” appears twice (columns %(first)s and %(second)s).")
                    % {
                        "header": cell,
                        "first": get_column_letter(seen[key] + 1),
                        "second": get_column_letter(position + 1),
                    },
                )
            )
            continue
        seen[key] = position
        positions[position] = key
    for column in columns:
        if column.required and column.key not in seen:
            problems.append((column.key, gettext("The column “%(label)s” is missing.") % {"label": column.label}))
    return positions, problems


def is_header_row(cells, columns):
    """Whether a row names columns rather than holding data: the template has a second header row
    in the other language, under the first."""
    lookup = header_lookup(columns)
    named = [cell for cell in cells if str(cell or "").strip()]
    return bool(named) and all(comparable_header(cell) in lookup for cell in named)
