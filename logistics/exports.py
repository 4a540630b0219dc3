"""The shipment list's export (Excel or CSV, what the filtered list shows), and the admin mixin
that offers it on the shipment list."""

from core.permissions import Logistics
from orders.admin.exports import ExportMixin
from orders.exports import (
    Column,
    Export,
    choice_column,
    field_label,
    plain_column,
    register,
    text_column,
    time_column,
)
from orders.models import BulkJob, Order

from .models import Shipment


def shipment_columns(user):
    return [
        text_column(Order, "number", path="order__number"),
        Column("warehouse__name", field_label(Shipment, "warehouse")),
        Column("carrier__name", field_label(Shipment, "carrier")),
        Column("service__name", field_label(Shipment, "service")),
        text_column(Shipment, "tracking_number"),
        choice_column(Shipment, "status", Shipment.Status.choices),
        time_column(Shipment, "shipped_at"),
        time_column(Shipment, "delivered_at"),
        plain_column(Shipment, "expected_delivery_on"),
    ]


SHIPMENTS = register(
    Export(
        kind=BulkJob.Kind.EXPORT_SHIPMENTS,
        model=Shipment,
        label=Shipment._meta.verbose_name_plural,
        file_stem="shipments",
        permission=Logistics.VIEW_SHIPMENT,
        columns=shipment_columns,
    )
)


class ShipmentExportMixin(ExportMixin):
    exports = (SHIPMENTS,)
    # The shipment list has no template of its own; this one adds the Export menu to the admin's.
    change_list_template = "admin/orders/export/change_list.html"
