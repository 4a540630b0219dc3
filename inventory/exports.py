"""The purchase-order list's export (Excel or CSV, what the filtered list shows): one row per line,
offered through `core.events.EXPORTS_OFFERED` (subscribed in `InventoryConfig.ready()`)."""

from django.utils.translation import gettext_lazy as _

from core.jobs import JobKind
from core.permissions import Inventory
from core.spreadsheets.exports import (
    Export,
    ExportColumn,
    choice_column,
    field_label,
    plain_column,
    text_column,
    time_column,
)

from .models import Product, PurchaseOrder, PurchaseOrderLine, Supplier


def purchase_order_line_columns(user):
    return [
        text_column(PurchaseOrder, "number"),
        text_column(Supplier, "code", path="supplier__code", header=field_label(PurchaseOrder, "supplier")),
        ExportColumn("warehouse__code", field_label(PurchaseOrder, "warehouse")),
        choice_column(PurchaseOrder, "status", PurchaseOrder.Status.choices),
        text_column(PurchaseOrder, "currency"),
        plain_column(PurchaseOrder, "exchange_rate"),
        plain_column(PurchaseOrder, "expected_on"),
        time_column(PurchaseOrder, "sent_at"),
        text_column(Product, "sku", path="lines__product__sku"),
        text_column(Product, "name", path="lines__product__name", header=_("product")),
        plain_column(PurchaseOrderLine, "quantity", path="lines__quantity"),
        plain_column(PurchaseOrderLine, "unit_cost", path="lines__unit_cost"),
        plain_column(PurchaseOrderLine, "expected_on", path="lines__expected_on", header=_("line expected on")),
        plain_column(PurchaseOrderLine, "quantity_received", path="lines__quantity_received"),
        plain_column(PurchaseOrderLine, "quantity_damaged", path="lines__quantity_damaged"),
        text_column(PurchaseOrderLine, "difference_reason", path="lines__difference_reason"),
    ]


PURCHASE_ORDER_LINES = Export(
    kind=JobKind("export_purchase_orders", _("Purchase order export")),
    model=PurchaseOrder,
    label=_("One row per purchase-order line"),
    file_stem="purchase-orders",
    permission=Inventory.VIEW_PURCHASEORDER,
    columns=purchase_order_line_columns,
    then_by=("lines__id",),
)


def offered_exports():
    """The purchase-order export, for core.events.EXPORTS_OFFERED."""
    return [PURCHASE_ORDER_LINES]
