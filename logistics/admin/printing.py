"""Printing slips and labels in batches (docs/architecture.md, "Printing in batches"): every packing
slip and label of a pick list's parcels, in the order the pick list walks, or of parcels chosen on
the shipment list, in one print job on A4 or on 100 × 150 mm label stock.

The batch page lists the parcels with their labels printed so far and the pools' numbers left;
its buttons POST (all parcels, or one to reprint), which counts the print and gives parcels without
a tracking number one from their service's pool (services.print_labels), then redirect to the
printable page, which only reads: reloading it prints the same labels and gives nothing."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.console import ConsolePageMixin, refusal_message
from core.permissions import Logistics
from core.privacy import record_views, sight_of
from orders.admin.actions import BULK_LIMIT
from orders.admin.display import REFUSALS, contact_for

from .. import selectors, services
from ..barcodes import code128_svg
from ..models import PickWave, Shipment

A4, LABEL = "a4", "label"
PAPERS = {
    A4: gettext_lazy("A4: each slip on a page, each label at its size on a page of its own, to cut out"),
    LABEL: gettext_lazy("100 × 150 mm label stock: labels and slips on the label printer"),
}


def parcel_ids(raw):
    """The shipment ids of an `ids` parameter ("12,15,19"), or None when it is not such a list."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not parts or len(parts) > BULK_LIMIT or not all(part.isdigit() for part in parts):
        return None
    return sorted({int(part) for part in parts})


class Selection:
    """What a batch prints: a pick list's parcels in pick order, or parcels chosen by id."""

    def __init__(self, query):
        self.wave_id, self.ids = None, None
        wave = query.get("wave", "")
        if wave.isdigit():
            self.wave_id = int(wave)
            try:
                self.ids = selectors.wave_parcels_in_pick_order(self.wave_id)
            except PickWave.DoesNotExist:
                raise Http404(_("No pick list %(id)s.") % {"id": wave}) from None
        else:
            self.ids = parcel_ids(query.get("ids"))
            if self.ids is None:
                raise Http404(_("Choose a pick list or parcels to print."))

    def query(self, **more):
        base = {"wave": self.wave_id} if self.wave_id else {"ids": ",".join(map(str, self.ids))}
        return urlencode({**base, **{key: value for key, value in more.items() if value}})

    def title(self):
        if self.wave_id:
            return _("Slips and labels of pick list %(id)s") % {"id": self.wave_id}
        return ngettext(
            "Slips and labels of %(count)d parcel", "Slips and labels of %(count)d parcels", len(self.ids)
        ) % {"count": len(self.ids)}


def paper_of(query):
    paper = query.get("paper", "")
    return paper if paper in PAPERS else A4


class PrintingViews(ConsolePageMixin):
    """The batch page and the printable page of slips and labels, for ShipmentAdmin."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("print/", view(self.batch_view), name="logistics_shipment_print"),
            path("print/sheets/", view(self.sheets_view), name="logistics_shipment_print_sheets"),
        ] + super().get_urls()

    def require_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    def batch_view(self, request):
        """GET: the parcels of the batch, their labels printed so far and the pools' numbers left,
        with the paper to choose. POST: print them all, or the one `parcel` again."""
        self.require_view(request)
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        selection = Selection(request.GET)
        if request.method == "POST":
            return self.print_batch(request, selection)
        parcels = list(
            Shipment.objects.filter(pk__in=selection.ids).select_related("order", "carrier", "service__carrier")
        )
        position = {pk: index for index, pk in enumerate(selection.ids)}
        parcels.sort(key=lambda parcel: position[parcel.pk])
        levels = selectors.pool_levels({parcel.service_id for parcel in parcels if parcel.service_id})
        context = self.page_context(
            request,
            selection.title(),
            parcels=parcels,
            open_count=sum(parcel.status in Shipment.OPEN for parcel in parcels),
            levels=levels,
            papers=PAPERS.items(),
            paper=paper_of(request.GET),
            may_print=request.user.has_perm(Logistics.PRINT_LABELS),
            action_url=f"{self.admin_view_url('print')}?{selection.query()}",
            wave_url=reverse("admin:logistics_pickwave_print", args=[selection.wave_id]) if selection.wave_id else "",
        )
        return TemplateResponse(request, "admin/logistics/shipment/batch_print.html", context)

    def print_batch(self, request, selection):
        paper = paper_of(request.POST)
        one = request.POST.get("parcel", "")
        ids = selection.ids
        if one:
            if not one.isdigit() or int(one) not in ids:
                raise Http404(_("That parcel is not in this batch."))
            ids = [int(one)]
        try:
            printed = services.print_labels(ids, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
            return HttpResponseRedirect(f"{self.admin_view_url('print')}?{selection.query(paper=paper)}")
        if printed.pool_empty:
            messages.warning(
                request,
                _("The pool ran out: %(orders)s got no tracking number. Import more numbers, or enter them by hand.")
                % {"orders": ", ".join(parcel.order.number for parcel in printed.pool_empty)},
            )
        return HttpResponseRedirect(f"{self.admin_view_url('print_sheets')}?{selection.query(paper=paper, parcel=one)}")

    def sheets_view(self, request):
        """The printable page: the slip and labels of every parcel of the batch still to leave, in
        the batch's order (or of the one `parcel`). Reads only: printing happened in the POST."""
        self.require_view(request)
        selection = Selection(request.GET)
        paper = paper_of(request.GET)
        ids = selection.ids
        one = request.GET.get("parcel", "")
        if one.isdigit() and int(one) in ids:
            ids = [int(one)]
        title = selection.title()
        parcels = [row for row in selectors.parcels_for_print(ids) if row.shipment.status in Shipment.OPEN]
        sight = sight_of(request.user)
        record_views(request.user, sight, {(row.order.customer_id, row.order.number) for row in parcels}, page=title)
        sheets = [
            {
                "row": row,
                "contact": contact_for(request.user, row.order, sight),
                "order_barcode": code128_svg(row.order.number),
                "tracking_barcode": code128_svg(row.shipment.tracking_number),
                "packages": range(1, row.package_total + 1),
            }
            for row in parcels
        ]
        context = {
            "title": title,
            "paper": paper,
            "paper_label": PAPERS[paper],
            "shop_name": settings.SHOP_NAME,
            "sheets": sheets,
            "without_number": [row.order.number for row in parcels if not row.shipment.tracking_number],
            "reprints": sum(row.reprint for row in parcels),
            "back_url": f"{self.admin_view_url('print')}?{selection.query(paper=paper)}",
        }
        return TemplateResponse(request, "admin/logistics/shipment/print_batch.html", context)
