"""The columns of an order file: their English and Chinese headers, which are required, what to
write in each, and the heading the order-lines export writes for it (`title`), so an exported
file uploads again as an import (docs/architecture.md, "Spreadsheets")."""

from django.utils.translation import gettext_lazy as _

from core.spreadsheets.columns import Column, Columns
from core.spreadsheets.exports import field_label

from ..models import Order, OrderLine

ORDER_COLUMNS = Columns(
    Column(
        "channel",
        "channel",
        "渠道",
        required=True,
        description=_("Channel code or name, as set up under Channels."),
        title=field_label(Order, "channel"),
    ),
    Column(
        "channel_order_id",
        "channel_order_id",
        "渠道订单号",
        required=True,
        description=_("The channel's own order number. Rows with the same channel and number are one order."),
        title=field_label(Order, "channel_order_id"),
    ),
    Column(
        "order_date",
        "order_date",
        "下单时间",
        description=_("When the customer ordered: an Excel date or text such as 2026-11-20 14:30. Empty: now."),
        title=field_label(Order, "placed_at"),
    ),
    Column(
        "recipient",
        "recipient",
        "收货人",
        required=True,
        description=_("Who receives the parcel."),
        title=field_label(Order, "recipient"),
    ),
    Column(
        "phone",
        "phone",
        "手机号",
        required=True,
        description=_("Spaces, dashes, a +86 prefix and full-width digits are fine."),
        title=field_label(Order, "phone"),
    ),
    Column(
        "province",
        "province",
        "省",
        description=_("Province: 广东 or 广东省. Leave empty when the address column holds the whole address."),
        title=field_label(Order, "province"),
    ),
    Column(
        "city",
        "city",
        "市",
        description=_("City. Leave empty when the address column holds the whole address."),
        title=field_label(Order, "city"),
    ),
    Column(
        "district",
        "district",
        "区",
        description=_("District, where the city has them."),
        title=field_label(Order, "district"),
    ),
    Column(
        "address",
        "address",
        "详细地址",
        required=True,
        description=_(
            "Street, building and room; or the whole address (浙江省杭州市西湖区文三路 90 号), which is split into "
            "province, city, district and street."
        ),
        title=field_label(Order, "address"),
    ),
    Column("postcode", "postcode", "邮编", description=_("Postcode."), title=field_label(Order, "postcode")),
    Column(
        "sku",
        "sku",
        "SKU",
        required=True,
        description=_("The product's SKU; one row per order line."),
        title=field_label(OrderLine, "sku"),
    ),
    Column(
        "quantity",
        "quantity",
        "数量",
        required=True,
        description=_("Units of this SKU: a whole number greater than zero."),
        title=field_label(OrderLine, "quantity"),
    ),
    Column(
        "unit_price",
        "unit_price",
        "单价",
        description=_("Price per unit as sold; empty means the catalogue price. Needs the price permission."),
        title=field_label(OrderLine, "unit_price"),
    ),
    Column(
        "shipping_fee",
        "shipping_fee",
        "运费",
        description=_("Shipping charged for the whole order."),
        title=field_label(Order, "shipping_fee"),
    ),
    Column(
        "discount",
        "discount",
        "优惠",
        description=_("Discount on the whole order. Needs the price permission."),
        title=field_label(Order, "discount"),
    ),
    Column(
        "payment_method",
        "payment_method",
        "支付方式",
        required=True,
        description=_(
            "card, e_wallet, bank_transfer, cod or instalments; or 银行卡, 电子钱包, 银行转账, 货到付款, 分期."
        ),
        title=field_label(Order, "payment_method"),
    ),
    Column(
        "paid_amount",
        "paid_amount",
        "已付金额",
        description=_(
            "What the customer has paid already; 0 for cash on delivery. A card, e-wallet, bank transfer or "
            "instalment order with 0 (or less than its total, by bank transfer) waits for its payment."
        ),
        title=field_label(Order, "amount_paid"),
    ),
    Column(
        "express",
        "express",
        "加急",
        description=_("yes (是) when the customer asked for express delivery; empty for standard."),
        title=field_label(Order, "express_requested"),
    ),
    Column(
        "note",
        "note",
        "备注",
        description=_("Special instructions for the order."),
        title=field_label(Order, "special_instructions"),
    ),
)
# Columns that belong to each row (order line); the others belong to the order.
LINE_COLUMNS = ("sku", "quantity", "unit_price")
