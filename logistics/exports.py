"""The shipment list's export (Excel or CSV, what the filtered list shows), offered through
`core.events.EXPORTS_OFFERED` (subscribed in `LogisticsConfig.ready()`), and the admin mixin that
offers it on the shipment list."""

from django.utils.translation import gettext_lazy as _

from core.jobs import JobKind
from core.permissions import Logistics
from core.spreadsheets.console import ExportMixin
from core.spreadsheets.exports import (
    Export,
    ExportColumn,
    choice_column,
    field_label,
    plain_column,
    text_column,
    time_column,
)
from orders.models import Order

from .models import Shipment


def shipment_columns(user):
    return [
        text_column(Order, "number", path="order__number"),
        ExportColumn("warehouse__name", field_label(Shipment, "warehouse")),
        ExportColumn("carrier__name", field_label(Shipment, "carrier")),
        ExportColumn("service__name", field_label(Shipment, "service")),
        text_column(Shipment, "tracking_number"),
        choice_column(Shipment, "status", Shipment.Status.choices),
        time_column(Shipment, "shipped_at"),
        time_column(Shipment, "delivered_at"),
        plain_column(Shipment, "expected_delivery_on"),
    ]


SHIPMENTS = Export(
    kind=JobKind("export_shipments", _("Shipment export")),
    model=Shipment,
    label=Shipment._meta.verbose_name_plural,
    file_stem="shipments",
    permission=Logistics.VIEW_SHIPMENT,
    columns=shipment_columns,
)


def offered_exports():
    """The shipment export, for core.events.EXPORTS_OFFERED."""
    return [SHIPMENTS]


class ShipmentExportMixin(ExportMixin):
    exports = (SHIPMENTS,)
    # The shipment list has no template of its own; this one adds the Export menu to the admin's.
    change_list_template = "admin/spreadsheets/export/change_list.html"
