"""Scan-to-pack, packing slips and shipping labels. The scan page is made for a barcode scanner,
which types what it reads and presses Enter: each step is one text input that has the focus. A
scanner sends codes tens of milliseconds apart, faster than a page reloads, so scan_pack.js queues
the item scans and sends them one at a time, in order, to a JSON answer beside the page
(`pack_scan_view`) and updates the page in place. Without the script each step is still a plain
form post answered by a redirect."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.console import ConsolePageMixin, refusal_message
from core.permissions import Orders, require
from orders.admin.display import REFUSALS, contact_for, opened_order

from .. import selectors, services
from ..barcodes import code128_svg
from ..models import Shipment

WAREHOUSE_SESSION_KEY = "logistics.packing_warehouse"
FINISH_FIELDS = {"weight_kg": gettext_lazy("Weight (kg)"), "package_count": gettext_lazy("Packages")}


def scan_page():
    return reverse("admin:logistics_shipment_pack")


def parcel_page(shipment_id):
    return reverse("admin:logistics_shipment_pack_parcel", args=[shipment_id])


def line_rows(shipment, scanned_line_id=None):
    """The parcel's lines as the packer sees them: how many are in, how many are still missing."""
    return [
        {
            "line": line,
            "product": line.order_line.product,
            "missing": line.quantity - line.packed_quantity,
            "just_scanned": line.pk == scanned_line_id,
        }
        for line in shipment.lines.all()
    ]


def progress_text(packed_units, total_units):
    return _("%(packed)s of %(total)s units") % {"packed": packed_units, "total": total_units}


def finish_refusal(error):
    """A finish_packing refusal as (banner text, {field: message}): field errors sit next to their
    input and are repeated, named, in the banner the packer looks at."""
    if not isinstance(error, ValidationError) or not hasattr(error, "error_dict"):
        return refusal_message(error), {}
    by_field = {field: " ".join(messages) for field, messages in error.message_dict.items()}
    banner = " ".join(
        f"{FINISH_FIELDS[field]}: {message}" if field in FINISH_FIELDS else message
        for field, message in by_field.items()
    )
    return banner, {field: message for field, message in by_field.items() if field in FINISH_FIELDS}


class PackingViews(ConsolePageMixin):
    """Scan-to-pack, packing slips and shipping labels for ShipmentAdmin."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("pack/", view(self.pack_view), name="logistics_shipment_pack"),
            path("pack/<int:shipment_id>/", view(self.pack_parcel_view), name="logistics_shipment_pack_parcel"),
            path("pack/<int:shipment_id>/scan/", view(self.pack_scan_view), name="logistics_shipment_pack_scan"),
            path(
                "<int:shipment_id>/packing-slip/", view(self.packing_slip_view), name="logistics_shipment_packing_slip"
            ),
            path("<int:shipment_id>/label/", view(self.label_view), name="logistics_shipment_label"),
        ] + super().get_urls()

    # Scan to pack ---------------------------------------------------------------------------------

    def require_pack_permission(self, request):
        require(request.user, Orders.PICK_ORDER, _("Your role may not pack orders."))

    def packing_warehouse(self, request):
        """The active warehouses and the one this packer works in (None: any). Chosen once with
        ?warehouse= and kept in the session; with a single warehouse there is nothing to choose."""
        warehouses = list(selectors.active_warehouses())
        if len(warehouses) == 1:
            return warehouses, warehouses[0]
        chosen = str(request.session.get(WAREHOUSE_SESSION_KEY, ""))
        return warehouses, next((w for w in warehouses if str(w.pk) == chosen), None)

    def remember_warehouse(self, request):
        warehouses = selectors.active_warehouses()
        chosen = request.GET.get("warehouse", "")
        request.session[WAREHOUSE_SESSION_KEY] = chosen if any(str(w.pk) == chosen for w in warehouses) else ""

    def packing_context(self, request, warehouses, warehouse, *, title, **extra):
        return self.page_context(
            request, title, warehouses=warehouses, warehouse=warehouse, scan_url=scan_page(), **extra
        )

    def pack_view(self, request):
        """Step one: the order number, which finds the order's parcel waiting in this warehouse."""
        self.require_pack_permission(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if "warehouse" in request.GET:
            self.remember_warehouse(request)
            return redirect(scan_page())
        warehouses, warehouse = self.packing_warehouse(request)
        error = ""
        if request.method == "POST":
            number = request.POST.get("order", "").strip()
            if not number:
                error = _("Scan the order number on the packing slip.")
            else:
                shipment, error = selectors.parcel_to_pack(number, warehouse)
                if shipment is not None:
                    return redirect(parcel_page(shipment.pk))
        context = self.packing_context(
            request,
            warehouses,
            warehouse,
            title=_("Scan to pack"),
            error=error,
            just_packed=self.just_packed(request),
        )
        return TemplateResponse(request, "admin/logistics/shipment/pack.html", context)

    @staticmethod
    def just_packed(request):
        """The parcel the packer has just closed (?packed=), for its print links."""
        try:
            shipment = selectors.parcel_for_packing(int(request.GET.get("packed", "")))
        except (ValueError, Shipment.DoesNotExist):
            return None
        return shipment if shipment.status != Shipment.Status.PENDING else None

    def pack_parcel_view(self, request, shipment_id):
        """Step two: every unit scanned in, then weight and packages to close the parcel."""
        self.require_pack_permission(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        shipment = self.parcel_or_404(shipment_id)
        error, field_errors, entered = "", {}, {}
        if request.method == "POST":
            step = request.POST.get("step")
            if step == "finish":
                entered = {field: request.POST.get(field, "") for field in FINISH_FIELDS}
                try:
                    services.finish_packing(shipment.pk, actor=request.user, **entered)
                except REFUSALS as refusal:
                    error, field_errors = finish_refusal(refusal)
                else:
                    return redirect(f"{scan_page()}?packed={shipment.pk}")
            else:
                try:
                    answer = services.scan_item(shipment.pk, request.POST.get("code", ""), actor=request.user)
                except REFUSALS as refusal:
                    error = refusal_message(refusal)
                else:
                    if answer.accepted:
                        return redirect(f"{parcel_page(shipment.pk)}?scanned={answer.line.pk}")
                    error = answer.message
            # Refused: show the parcel as it is now, which someone else may have changed meanwhile.
            shipment = self.parcel_or_404(shipment_id)
        return TemplateResponse(
            request,
            "admin/logistics/shipment/pack.html",
            self.parcel_context(
                request,
                shipment,
                error=error,
                field_errors=field_errors,
                entered=entered,
            ),
        )

    def pack_scan_view(self, request, shipment_id):
        """One item scan sent by the page's script: the parcel's new state as JSON, in the packer's
        language, with the sound to play. A refusal is an answer too (200, `accepted` false); only
        what is not a scan at all (nothing typed, a unit count out of range) is a 400."""
        self.require_pack_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            answer = services.scan_item(shipment_id, request.POST.get("code", ""), actor=request.user)
        except Shipment.DoesNotExist:
            raise Http404(_("No shipment with id %(id)s.") % {"id": shipment_id}) from None
        except REFUSALS as refusal:
            return JsonResponse(
                {"accepted": False, "sound": services.Sound.REFUSED, "message": refusal_message(refusal)}, status=400
            )
        packed_units = sum(line.packed_quantity for line in answer.lines)
        total_units = sum(line.quantity for line in answer.lines)
        return JsonResponse(
            {
                "accepted": answer.accepted,
                "sound": answer.sound,
                "message": answer.message,
                "complete": answer.complete,
                "packing": answer.shipment.status == Shipment.Status.PENDING,
                "scanned_line": answer.line.pk if answer.line else None,
                "lines": [
                    {
                        "id": line.pk,
                        "sku": line.order_line.sku,
                        "packed": line.packed_quantity,
                        "quantity": line.quantity,
                    }
                    for line in answer.lines
                ],
                "progress": progress_text(packed_units, total_units),
            }
        )

    def parcel_context(self, request, shipment, *, error, field_errors, entered):
        warehouses, warehouse = self.packing_warehouse(request)
        try:
            # After a refusal the last accepted scan is old news: nothing is marked as just packed.
            scanned_line_id = None if error else int(request.GET.get("scanned", ""))
        except ValueError:
            scanned_line_id = None
        rows = line_rows(shipment, scanned_line_id)
        weight = selectors.products_weight_kg(shipment).quantize(Decimal("0.001"))
        return self.packing_context(
            request,
            warehouses,
            warehouse,
            title=_("Pack order %(number)s") % {"number": shipment.order.number},
            shipment=shipment,
            order=shipment.order,
            contact=contact_for(request.user, shipment.order),
            rows=rows,
            parcel_url=parcel_page(shipment.pk),
            scanned=next((row for row in rows if row["just_scanned"]), None),
            missing=[row for row in rows if row["missing"]],
            progress=progress_text(
                sum(row["line"].packed_quantity for row in rows), sum(row["line"].quantity for row in rows)
            ),
            scan_answer_url=reverse("admin:logistics_shipment_pack_scan", args=[shipment.pk]),
            packing=shipment.status == Shipment.Status.PENDING,
            other_warehouse=warehouse is not None and warehouse.pk != shipment.warehouse_id,
            error=error,
            field_errors=field_errors,
            weight_kg=entered.get("weight_kg", weight if weight > 0 else ""),
            package_count=entered.get("package_count", shipment.package_count or 1),
        )

    @staticmethod
    def parcel_or_404(shipment_id):
        try:
            return selectors.parcel_for_packing(shipment_id)
        except Shipment.DoesNotExist:
            raise Http404(_("No shipment with id %(id)s.") % {"id": shipment_id}) from None

    # Packing slip and shipping label ---------------------------------------------------------------

    def printable_parcel(self, request, shipment_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.parcel_or_404(shipment_id)

    def print_context(self, request, shipment, title):
        order = shipment.order
        packing = shipment.status == Shipment.Status.PENDING
        return {
            "title": title % {"number": order.number},
            "shipment": shipment,
            "order": order,
            "shop_name": settings.SHOP_NAME,
            "contact": opened_order(request, order, title % {"number": order.number}),
            "order_barcode": code128_svg(order.number),
            "order_url": reverse("admin:orders_order_change", args=[order.pk]),
            "pack_url": parcel_page(shipment.pk) if packing and request.user.has_perm(Orders.PICK_ORDER) else "",
            # A merged group's parcel: each order's number with its own lines.
            "merged_orders": selectors.lines_by_order(shipment) if shipment.merge_id else [],
        }

    def packing_slip_view(self, request, shipment_id):
        """What goes into this parcel, to tick off and put in the box; its order-number barcode
        starts the parcel on the scan page."""
        shipment = self.printable_parcel(request, shipment_id)
        context = self.print_context(request, shipment, _("Packing slip %(number)s"))
        context["parcel_number"], context["parcel_total"] = selectors.parcel_position(shipment)
        return TemplateResponse(request, "admin/logistics/shipment/packing_slip.html", context)

    def label_view(self, request, shipment_id):
        """One shipping label per package of a packed parcel. A parcel not packed yet has no
        weight or package count to print, so the page says what to do instead."""
        shipment = self.printable_parcel(request, shipment_id)
        context = self.print_context(request, shipment, _("Shipping label %(number)s"))
        number = shipment.order.number
        if shipment.status == Shipment.Status.PENDING:
            context["not_ready"] = _(
                "Order %(number)s's parcel is not packed yet: its weight and number of packages go on the "
                "label. Pack it first."
            ) % {"number": number}
        elif shipment.status == Shipment.Status.CANCELLED:
            context["not_ready"] = _("Order %(number)s's parcel is cancelled: it needs no label.") % {"number": number}
        else:
            count = shipment.package_count or 1
            context.update(
                {
                    "packages": range(1, count + 1),
                    "package_total": count,
                    "tracking_barcode": code128_svg(shipment.tracking_number),
                    "fragile": any(line.order_line.product.fragile for line in shipment.lines.all()),
                    "cod_amount": selectors.parcels_for_print([shipment.pk])[0].cod_amount,
                    "cod_currency": shipment.order.currency,
                    "print_count": shipment.label_prints,
                }
            )
        return TemplateResponse(request, "admin/logistics/shipment/label.html", context)
