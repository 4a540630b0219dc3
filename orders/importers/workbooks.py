"""The files the order import hands out: the template to fill in, and a copy of an uploaded file
with an errors column, so the operator corrects the rows in place and uploads it again."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from core.spreadsheets import problems
from core.spreadsheets.templates import Template
from inventory.models import Product

from ..models import Channel, PaymentMethod
from . import mapping, uploads
from .cells import PAYMENT_METHOD_NAMES
from .columns import ORDER_COLUMNS
from .orders import EXAMPLE_ORDER_ID

# Beyond this many products the SKU column has no drop-down (it would slow Excel down).
LISTED_SKUS = 5_000
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


def _lists():
    """The values the drop-downs offer: active channels, payment methods and, unless there are
    too many, the active SKUs."""
    lists = {
        "channel": list(Channel.objects.filter(active=True).order_by("code").values_list("code", flat=True)),
        "payment_method": list(PaymentMethod.values) + list(PAYMENT_METHOD_NAMES),
    }
    skus = list(Product.objects.filter(active=True).order_by("sku").values_list("sku", flat=True)[: LISTED_SKUS + 1])
    if len(skus) <= LISTED_SKUS:
        lists["sku"] = skus
    return lists


def template_workbook():
    """The order import template as .xlsx bytes: English and Chinese header rows, an example row,
    drop-downs for channel, SKU and payment method, checks on quantities, amounts and dates, and
    a sheet explaining each column in the reader's language."""
    return Template(
        ORDER_COLUMNS,
        title="orders",
        example=_example_row(),
        lists=_lists(),
        strict_lists=("channel", "payment_method"),
        whole_numbers=("quantity",),
        amounts=MONEY_COLUMNS,
        dates=("order_date",),
        text=TEXT_COLUMNS,
        wide=("address", "note"),
        notes=(
            _(
                "One row per order line. Rows with the same channel and channel order id are one order; the "
                "order's own values (recipient, address, payment ...) may be left empty in its further rows."
            ),
            _("Headers may be in English or Chinese; the second header row may be deleted."),
            _("The example row (channel order id %(example)s) is never imported.") % {"example": EXAMPLE_ORDER_ID},
            _("Uploading the same file again creates nothing twice: orders already imported are skipped."),
        ),
    ).workbook()


def errors_copy(job):
    """The uploaded file with an errors column after its last column, as (bytes, file name). Of a
    marketplace's two files, the items report: the problems are numbered by its rows."""
    files = uploads.files_of(job)
    if len(files) == 1:
        return problems.errors_copy(job, ORDER_COLUMNS)
    headers = [mapping.headers_of(content, name) for name, content in files]
    assigned = mapping.assign_files(job.parameters["profile"], headers)
    return problems.errors_copy(job, ORDER_COLUMNS, upload=files[assigned[mapping.ITEMS_FILE]])
