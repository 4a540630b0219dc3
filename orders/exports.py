"""The order list's exports (Excel or CSV, what the filtered list shows): one row per order, or one
per order line. Core writes them and runs large ones as jobs (`core.spreadsheets.exports`); orders
offers them through `core.events.EXPORTS_OFFERED` (subscribed in `OrdersConfig.ready()`).

The columns an order import reads take their headings from the import's own declarations
(`importers.columns.ORDER_COLUMNS`), so an order-lines export, in English or in Chinese, uploads
again as an order import (docs/architecture.md, "Spreadsheets")."""

from django.utils.translation import gettext_lazy as _

from core.jobs import JobKind
from core.permissions import Orders
from core.privacy import Sight, mask_name, mask_postcode, mask_street, sight_of
from core.spreadsheets.exports import (
    Export,
    ExportColumn,
    cached_column,
    choice_column,
    field_label,
    plain_column,
    text_column,
    time_column,
)

from .importers.columns import ORDER_COLUMNS
from .models import ArchivedOrder, Order, OrderLine, PaymentMethod
from .services.phones import format_phone, mask_phone


def heading(key):
    """The heading the order import knows the column by."""
    return ORDER_COLUMNS[key].title


def phone_column(*, full):
    """The number grouped for reading, or masked (+86 138****8000) for staff who may not see it.
    Both parse the number, so each distinct number is worked out once per export."""
    return cached_column(Order, "phone", format_phone if full else mask_phone, header=heading("phone"))


def masked_column(model, name, mask, *, full, header):
    """A column of personal data, whole for staff who may see it and masked for the others
    (docs/architecture.md, "Personal data")."""
    if full:
        return text_column(model, name, header=header)
    return ExportColumn(name, header, lambda: mask)


def _order_columns(sight: Sight):
    """What identifies an order and where it goes: the first columns of both order exports. The
    province, city and district are every role's; the name, phone, street and postcode follow
    the role's sight."""
    return [
        text_column(Order, "number"),
        ExportColumn("channel__name", heading("channel")),
        text_column(Order, "channel_order_id", header=heading("channel_order_id")),
        choice_column(Order, "status", Order.Status.choices),
        time_column(Order, "placed_at", header=heading("order_date")),
        masked_column(Order, "recipient", mask_name, full=sight.name, header=heading("recipient")),
        phone_column(full=sight.phone),
        text_column(Order, "province", header=heading("province")),
        text_column(Order, "city", header=heading("city")),
        text_column(Order, "district", header=heading("district")),
        masked_column(Order, "address", mask_street, full=sight.address, header=heading("address")),
        masked_column(Order, "postcode", mask_postcode, full=sight.address, header=heading("postcode")),
        choice_column(Order, "payment_method", PaymentMethod.choices, header=heading("payment_method")),
        choice_column(Order, "payment_status", Order.PaymentStatus.choices),
        text_column(Order, "currency"),
    ]


def order_columns(user):
    sight = sight_of(user)
    return _order_columns(sight) + [
        plain_column(Order, "subtotal"),
        plain_column(Order, "shipping_fee", header=heading("shipping_fee")),
        plain_column(Order, "discount", header=heading("discount")),
        plain_column(Order, "total"),
        plain_column(Order, "amount_paid", header=heading("paid_amount")),
        plain_column(Order, "amount_refunded"),
        plain_column(Order, "refund_due"),
        plain_column(Order, "risk_score"),
        time_column(Order, "dispatch_due_at"),
        time_column(Order, "shipped_at"),
        time_column(Order, "delivered_at"),
        masked_column(Order, "special_instructions", lambda _text: "", full=sight.address, header=heading("note")),
    ]


def order_line_columns(user):
    return _order_columns(sight_of(user)) + [
        text_column(OrderLine, "sku", path="lines__sku", header=heading("sku")),
        text_column(OrderLine, "name", path="lines__name", header=field_label(OrderLine, "product")),
        plain_column(OrderLine, "quantity", path="lines__quantity", header=heading("quantity")),
        plain_column(OrderLine, "unit_price", path="lines__unit_price", header=heading("unit_price")),
        plain_column(OrderLine, "line_total", path="lines__line_total"),
    ]


ORDERS = Export(
    kind=JobKind("export_orders", _("Order export")),
    model=Order,
    label=_("One row per order"),
    file_stem="orders",
    permission=Orders.VIEW_ORDER,
    columns=order_columns,
    personal=True,
)
ORDER_LINES = Export(
    kind=JobKind("export_order_lines", _("Order line export")),
    model=Order,
    label=_("One row per order line"),
    file_stem="order-lines",
    permission=Orders.VIEW_ORDER,
    columns=order_line_columns,
    then_by=("lines__id",),
    personal=True,
)


def archived_order_columns(user):
    """The archive's searchable columns; the name and phone follow the role's sight as in the order
    exports (the archive's columns hold no street)."""
    sight = sight_of(user)
    return [
        text_column(ArchivedOrder, "number"),
        ExportColumn("channel__name", heading("channel")),
        text_column(ArchivedOrder, "channel_order_id", header=heading("channel_order_id")),
        choice_column(ArchivedOrder, "status", Order.Status.choices),
        time_column(ArchivedOrder, "placed_at", header=heading("order_date")),
        time_column(ArchivedOrder, "finished_at"),
        masked_column(ArchivedOrder, "recipient", mask_name, full=sight.name, header=heading("recipient")),
        cached_column(ArchivedOrder, "phone", format_phone if sight.phone else mask_phone, header=heading("phone")),
        text_column(ArchivedOrder, "province", header=heading("province")),
        text_column(ArchivedOrder, "city", header=heading("city")),
        choice_column(ArchivedOrder, "payment_status", Order.PaymentStatus.choices),
        text_column(ArchivedOrder, "currency"),
        plain_column(ArchivedOrder, "total"),
        time_column(ArchivedOrder, "archived_at"),
    ]


# The Archived orders view's export (docs/architecture.md, "Archive").
ARCHIVED_ORDERS = Export(
    kind=JobKind("export_archived_orders", _("Archived order export")),
    model=ArchivedOrder,
    label=_("One row per archived order"),
    file_stem="archived-orders",
    permission=Orders.VIEW_ARCHIVEDORDER,
    columns=archived_order_columns,
    personal=True,
)


def offered_exports():
    """The order exports, for core.events.EXPORTS_OFFERED."""
    return [ORDERS, ORDER_LINES, ARCHIVED_ORDERS]
