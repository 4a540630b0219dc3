"""What logistics adds to the order list's bulk actions, through orders.events.ORDER_LIST_ACTIONS
(docs/architecture.md, "The order list at volume"): choose the carrier service of the chosen
orders, and print the packing slips and labels of their parcels on one page. Each is called as an
admin action of the order list, with its ModelAdmin (orders.admin.order_desk.OrderDeskMixin) for
asking and reporting."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.forms import add_service_error
from core.permissions import Logistics
from orders.admin.display import opened_order

from .. import selectors, services
from ..barcodes import code128_svg
from ..forms import ServiceChoiceForm
from ..models import Shipment


def order_list_actions():
    """The order list's actions logistics offers, each to those who hold its permission."""
    return [
        {
            "name": "change_carrier_service",
            "description": gettext_lazy("Change carrier service of selected orders…"),
            "permission": Logistics.CHOOSE_CARRIER,
            "function": change_carrier_service,
        },
        {
            "name": "print_parcels",
            "description": gettext_lazy("Print packing slips and labels of selected orders"),
            "permission": Logistics.VIEW_SHIPMENT,
            "function": print_parcels,
        },
    ]


def change_carrier_service(modeladmin, request, queryset):
    """Ask for the service, then give it to every chosen order (services.choose_carrier_service: one
    transaction, each order done or left with why)."""
    form = modeladmin.bound(request, ServiceChoiceForm)
    texts = {
        "title": _("Change carrier service"),
        "explanation": _(
            "Orders not picked yet keep this service for their parcels; parcels waiting to be packed or "
            "dispatched switch to it now (one with another carrier's tracking number needs a new label). "
            "A cash-on-delivery order needs a service that collects."
        ),
        "button": _("Change the service"),
    }
    selected, answer = modeladmin.ask(request, queryset, "change_carrier_service", form, **texts)
    if selected is None:
        return answer
    service = form.cleaned_data["service"]
    try:
        result = services.choose_carrier_service(
            [order_id for order_id, _number in selected], service.pk, actor=request.user
        )
    except ValidationError as error:
        add_service_error(form, error)
        return modeladmin.asking_page(request, selected, "change_carrier_service", form, **texts)
    modeladmin.report(
        request,
        ngettext(
            "%(count)d order now ships with %(service)s.",
            "%(count)d orders now ship with %(service)s.",
            len(result.done),
        )
        % {"count": len(result.done), "service": service}
        if result.done
        else "",
        result.left,
        _("These parcels need a new label: %(numbers)s") % {"numbers": ", ".join(result.needs_new_label)}
        if result.needs_new_label
        else "",
    )
    return None


def print_parcels(modeladmin, request, queryset):
    """One printable page with the packing slip of every open parcel of the chosen orders, and the
    labels of those packed; orders without such a parcel are listed as skipped. Each order shown
    is in the personal-data access log like its own slip."""
    selected = modeladmin.selected_orders(request, queryset)
    if selected is None:
        return None
    parcels = selectors.parcels_for_print(selectors.open_parcel_ids([order_id for order_id, _number in selected]))
    title = _("Packing slips and labels")
    contacts, rows = {}, []
    for parcel in parcels:
        order, shipment = parcel.order, parcel.shipment
        if order.pk not in contacts:
            contacts[order.pk] = opened_order(request, order, title)
        packed = shipment.status == Shipment.Status.PACKED
        count = parcel.package_total if packed else 0
        rows.append(
            {
                "shipment": shipment,
                "order": order,
                "contact": contacts[order.pk],
                "order_barcode": code128_svg(order.number),
                "number": parcel.position[0],
                "total": parcel.position[1],
                "packages": range(1, count + 1),
                "package_total": count,
                "tracking_barcode": code128_svg(shipment.tracking_number) if packed else "",
                "fragile": parcel.fragile,
                "cod_amount": parcel.cod_amount,
            }
        )
    printed = {parcel.order.pk for parcel in parcels}
    skipped = [number for order_id, number in selected if order_id not in printed]
    context = {
        "title": title,
        "shop_name": settings.SHOP_NAME,
        "parcels": rows,
        "skipped": skipped,
        "back_url": reverse("admin:orders_order_changelist"),
        "summary": ngettext(
            "%(parcels)d parcel of %(orders)d order.", "%(parcels)d parcels of %(orders)d orders.", len(rows)
        )
        % {"parcels": len(rows), "orders": len(printed)},
    }
    return TemplateResponse(request, "admin/logistics/shipment/print_selection.html", context)
