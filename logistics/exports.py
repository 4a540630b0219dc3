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

from .models import CarrierClaim, Shipment


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


def claim_columns(user):
    """A claim per row: what was claimed and what the carrier settled, for finance to match the
    carrier's payments against (docs/architecture.md, "Lost parcels")."""
    return [
        plain_column(CarrierClaim, "id", header=_("claim")),
        text_column(Order, "number", path="shipment__order__number"),
        ExportColumn("carrier__name", field_label(CarrierClaim, "carrier")),
        text_column(Shipment, "tracking_number", path="shipment__tracking_number"),
        text_column(CarrierClaim, "carrier_reference"),
        choice_column(CarrierClaim, "status", CarrierClaim.Status.choices),
        plain_column(CarrierClaim, "currency"),
        plain_column(CarrierClaim, "claimed_amount"),
        plain_column(CarrierClaim, "settled_amount"),
        time_column(CarrierClaim, "filed_at"),
        time_column(CarrierClaim, "decided_at"),
        time_column(CarrierClaim, "paid_at"),
    ]


CLAIMS = Export(
    kind=JobKind("export_carrier_claims", _("Carrier claim export")),
    model=CarrierClaim,
    label=CarrierClaim._meta.verbose_name_plural,
    file_stem="carrier-claims",
    permission=Logistics.VIEW_CARRIERCLAIM,
    columns=claim_columns,
)


def offered_exports():
    """The shipment and claim exports, for core.events.EXPORTS_OFFERED."""
    return [SHIPMENTS, CLAIMS]


class ShipmentExportMixin(ExportMixin):
    exports = (SHIPMENTS,)
    # The shipment list has no template of its own; this one adds the Export menu to the admin's.
    change_list_template = "admin/spreadsheets/export/change_list.html"
