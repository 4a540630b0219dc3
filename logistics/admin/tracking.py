"""Dispatch and tracking in the shipping console: handing packed parcels to the carrier (one by
one from the order, or many at once from a sheet of tracking numbers), tracking numbers entered
ahead of dispatch, tracking events entered by hand or from a carrier's file, recording delivery,
and the queue of parcels that went wrong. Uploads are read, previewed with every problem by row
and column, and applied all or nothing only when the person confirms the preview."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.console import ConsolePageMixin, refusal_message
from core.forms import add_service_error
from core.permissions import Inventory, Logistics, Orders
from core.spreadsheets.writing import XLSX_CONTENT_TYPE
from orders.admin.display import REFUSALS, contact_for
from orders.models import Order, PaymentMethod

from .. import importers, selectors, services
from ..forms import TrackingEventForm, TrackingNumberForm, UploadForm
from ..models import ExceptionKind, Shipment, TrackingEvent

# A preview is confirmed by posting back what was read, signed so it cannot be altered on the way.
UPLOAD_SALT = "logistics.admin.tracking.upload"
UPLOAD_PREVIEW_MAX_AGE = 60 * 60
EXCEPTIONS_PER_PAGE = 100

CHASE_THE_CARRIER = gettext_lazy("Chase the carrier: ask where the parcel is and when it will arrive.")
NEXT_STEPS = {
    ExceptionKind.DELAYED: CHASE_THE_CARRIER,
    "overdue": CHASE_THE_CARRIER,
    ExceptionKind.LOST: gettext_lazy("Open a claim with the carrier and send the goods again."),
    ExceptionKind.DAMAGED: gettext_lazy("Contact the customer, then claim from the carrier."),
    ExceptionKind.ADDRESS_PROBLEM: gettext_lazy("Confirm the address with the customer and pass it to the carrier."),
    "returned": gettext_lazy("Contact the customer: the parcel is on its way back to the warehouse."),
}
QUEUE_KINDS = [
    ("overdue", gettext_lazy("Overdue")),
    *ExceptionKind.choices,
    ("returned", gettext_lazy("Returned to sender")),
]


def order_page(order_id):
    return reverse("admin:orders_order_change", args=[order_id])


def shipment_page(shipment_id):
    return reverse("admin:logistics_shipment_change", args=[shipment_id])


def not_ready_to_ship(order, parcels):
    """Why no parcel of the order can be handed to a carrier now."""
    values = {"number": order.number, "status": order.get_status_display()}
    if order.status in (Order.Status.PENDING, Order.Status.AWAITING_PAYMENT, Order.Status.ON_HOLD):
        return _("Order %(number)s is %(status)s: approve it, then pick and pack it before dispatch.") % values
    if order.status in (Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.PACKED):
        return _("Order %(number)s is %(status)s: pick and pack it before dispatch.") % values
    if order.status == Order.Status.PARTIALLY_SHIPPED:
        waiting = [parcel.warehouse.code for parcel in parcels if parcel.status == Shipment.Status.PENDING]
        if waiting:
            return _("Order %(number)s is %(status)s: the rest is still being packed in %(warehouses)s.") % {
                **values,
                "warehouses": ", ".join(waiting),
            }
        return _("Order %(number)s is %(status)s: put the rest on a pick list and pack it before dispatch.") % values
    if order.status == Order.Status.CANCELLED:
        return _("Order %(number)s is %(status)s: there is nothing to dispatch.") % values
    return _("Order %(number)s is %(status)s: everything on it has been dispatched.") % values


def days_late(shipment, today):
    if shipment.expected_delivery_on is None or shipment.status == Shipment.Status.RETURNED:
        return 0
    return max((today - shipment.expected_delivery_on).days, 0)


def queue_kind(shipment):
    if shipment.status == Shipment.Status.RETURNED:
        return "returned"
    if shipment.status == Shipment.Status.EXCEPTION and shipment.exception_kind:
        return shipment.exception_kind
    return "overdue"


@dataclass(frozen=True)
class Upload:
    """One kind of upload: how its file is read, planned and applied, and how its rows travel
    from the preview back to the confirmation."""

    title: object
    columns: tuple
    read: Callable
    plan: Callable
    apply: Callable
    to_payload: Callable
    from_payload: Callable
    url_name: str
    template_url_name: str
    template_file_name: str
    example: dict


def _dispatch_rows_to_payload(rows):
    return [{key: value if key == "row" else str(value) for key, value in row.items()} for row in rows]


def _event_rows_to_payload(rows):
    return [{**row, "occurred_at": row["occurred_at"].isoformat()} for row in rows]


def _event_rows_from_payload(rows):
    return [{**row, "occurred_at": datetime.fromisoformat(row["occurred_at"])} for row in rows]


DISPATCH_UPLOAD = Upload(
    title=gettext_lazy("Dispatch by upload"),
    columns=importers.DISPATCH_COLUMNS,
    read=importers.read_dispatch_rows,
    plan=selectors.plan_dispatch_upload,
    apply=services.dispatch_by_upload,
    to_payload=_dispatch_rows_to_payload,
    from_payload=list,
    url_name="admin:logistics_shipment_dispatch_upload",
    template_url_name="admin:logistics_shipment_dispatch_template",
    template_file_name="dispatch-template.xlsx",
    example={"order_number": "OC250301-000123", "carrier": "sf", "tracking_number": "SF1234567890"},
)
EVENTS_UPLOAD = Upload(
    title=gettext_lazy("Upload tracking events"),
    columns=importers.EVENT_COLUMNS,
    read=importers.read_event_rows,
    plan=selectors.plan_event_upload,
    apply=services.record_events_by_upload,
    to_payload=_event_rows_to_payload,
    from_payload=_event_rows_from_payload,
    url_name="admin:logistics_shipment_events_upload",
    template_url_name="admin:logistics_shipment_events_template",
    template_file_name="tracking-events-template.xlsx",
    example={
        "tracking_number": "SF1234567890",
        "carrier": "sf",
        "occurred_at": "2025-03-01 14:30",
        "status": "exception",
        "exception_kind": "address_problem",
        "location": "杭州",
        "description": "收件地址不详",
    },
)


class TrackingViews(ConsolePageMixin):
    """Tracking numbers, dispatch, tracking events and the delivery-exceptions queue for ShipmentAdmin."""

    # Adds the tools below to the list, keeping the Export menu of the template it extends.
    change_list_template = "admin/logistics/shipment/change_list.html"

    def has_dispatch_permission(self, request):
        return request.user.has_perm(Orders.DISPATCH_ORDER)

    def has_record_tracking_permission(self, request):
        return request.user.has_perm(Logistics.RECORD_TRACKING)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("dispatch/<int:order_id>/", view(self.dispatch_view), name="logistics_shipment_dispatch"),
            path("dispatch-upload/", view(self.dispatch_upload_view), name="logistics_shipment_dispatch_upload"),
            path(
                "dispatch-upload/template.xlsx",
                view(self.dispatch_template_view),
                name="logistics_shipment_dispatch_template",
            ),
            path("tracking-events-upload/", view(self.events_upload_view), name="logistics_shipment_events_upload"),
            path(
                "tracking-events-upload/template.xlsx",
                view(self.events_template_view),
                name="logistics_shipment_events_template",
            ),
            path("exceptions/", view(self.exceptions_view), name="logistics_shipment_exceptions"),
            path("<int:shipment_id>/deliver/", view(self.deliver_view), name="logistics_shipment_deliver"),
            path(
                "<int:shipment_id>/tracking-number/",
                view(self.tracking_number_view),
                name="logistics_shipment_tracking_number",
            ),
            path(
                "<int:shipment_id>/tracking-event/",
                view(self.tracking_event_view),
                name="logistics_shipment_tracking_event",
            ),
        ] + super().get_urls()

    # The shipment's page

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                {
                    "can_deliver": obj.status in Shipment.ON_THE_WAY and self.has_dispatch_permission(request),
                    "tracking_number_url": (
                        reverse("admin:logistics_shipment_tracking_number", args=[obj.pk])
                        if obj.status in Shipment.OPEN and self.has_record_tracking_permission(request)
                        else ""
                    ),
                    "tracking_event_url": (
                        reverse("admin:logistics_shipment_tracking_event", args=[obj.pk])
                        if obj.status in Shipment.ON_THE_WAY + [Shipment.Status.RETURNED]
                        and self.has_record_tracking_permission(request)
                        else ""
                    ),
                }
            )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # Dispatch, one order at a time

    def dispatch_view(self, request, order_id):
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        parcels = list(selectors.parcels_of_order(order.pk))
        forms = {
            parcel.pk: TrackingNumberForm(
                prefix=f"parcel-{parcel.pk}",
                initial={
                    "carrier": parcel.carrier_id,
                    "tracking_number": parcel.tracking_number,
                },
            )
            for parcel in parcels
            if parcel.status == Shipment.Status.PACKED
        }
        if request.method == "POST":
            parcel_id = request.POST.get("shipment", "")
            parcel_id = int(parcel_id) if parcel_id.isdigit() else None
            if parcel_id not in forms:
                messages.error(request, _("That parcel is not packed and waiting for dispatch (any more)."))
            else:
                form = forms[parcel_id] = TrackingNumberForm(request.POST, prefix=f"parcel-{parcel_id}")
                if form.is_valid():
                    try:
                        shipment = services.dispatch(
                            parcel_id,
                            actor=request.user,
                            carrier_id=form.cleaned_data["carrier"].pk,
                            tracking_number=form.cleaned_data["tracking_number"],
                        )
                    except REFUSALS as error:
                        add_service_error(form, error)
                    else:
                        messages.success(
                            request,
                            _("Order %(number)s: parcel %(shipment)s left %(warehouse)s.")
                            % {"number": order.number, "shipment": shipment, "warehouse": shipment.warehouse},
                        )
                        more_to_send = len(forms) > 1
                        return redirect(request.path if more_to_send else order_page(order.pk))
        context = self.page_context(
            request,
            _("Dispatch order %(number)s") % {"number": order.number},
            order=order,
            contact=contact_for(request.user, order),
            order_url=order_page(order.pk),
            parcels=[{"parcel": parcel, "form": forms.get(parcel.pk)} for parcel in parcels],
            not_ready="" if forms else not_ready_to_ship(order, parcels),
            # Cash on delivery is collected at the door; any other order normally leaves paid.
            unpaid=order.payment_method != PaymentMethod.COD and order.balance_due > 0,
            upload_url=reverse("admin:logistics_shipment_dispatch_upload"),
        )
        return TemplateResponse(request, "admin/logistics/shipment/dispatch.html", context)

    # Tracking numbers and events of one parcel

    def tracking_number_view(self, request, shipment_id):
        if not self.has_record_tracking_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "carrier", "warehouse"), pk=shipment_id)
        form = TrackingNumberForm(
            request.POST or None,
            initial={
                "carrier": shipment.carrier_id,
                "tracking_number": shipment.tracking_number,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.assign_tracking_number(
                    shipment.pk,
                    form.cleaned_data["carrier"].pk,
                    form.cleaned_data["tracking_number"],
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Parcel %(shipment)s has its tracking number.") % {"shipment": shipment})
                return redirect(shipment_page(shipment.pk))
        return self.parcel_form_page(
            request, shipment, form, _("Tracking number for %(shipment)s"), submit_label=_("Save tracking number")
        )

    def tracking_event_view(self, request, shipment_id):
        if not self.has_record_tracking_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "carrier", "warehouse"), pk=shipment_id)
        form = TrackingEventForm(
            request.POST or None,
            initial={
                "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
            },
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                _event, created = services.record_tracking_event(
                    shipment.pk,
                    status=data["status"],
                    occurred_at=data["occurred_at"],
                    location=data["location"],
                    description=data["description"],
                    exception_kind=data["exception_kind"],
                    source=TrackingEvent.Source.CONSOLE,
                    actor=request.user,
                )
            except REFUSALS as error:
                add_service_error(form, error)
            else:
                if created:
                    messages.success(request, _("Tracking event recorded."))
                else:
                    messages.info(request, _("This event was already known; nothing changed."))
                return redirect(shipment_page(shipment.pk))
        return self.parcel_form_page(
            request, shipment, form, _("Tracking event for %(shipment)s"), submit_label=_("Record event")
        )

    def parcel_form_page(self, request, shipment, form, title, *, submit_label):
        context = self.page_context(
            request,
            title % {"shipment": shipment},
            shipment=shipment,
            form=form,
            submit_label=submit_label,
            cancel_url=shipment_page(shipment.pk),
            order_url=order_page(shipment.order_id),
        )
        return TemplateResponse(request, "admin/logistics/shipment/parcel_form.html", context)

    def deliver_view(self, request, shipment_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "carrier"), pk=shipment_id)
        try:
            services.mark_delivered(shipment.pk, actor=request.user)
        except REFUSALS as error:
            messages.error(request, refusal_message(error))
        else:
            messages.success(
                request,
                _("Order %(number)s: parcel %(shipment)s delivered.")
                % {"number": shipment.order.number, "shipment": shipment},
            )
        return redirect(order_page(shipment.order_id))

    @admin.action(description=gettext_lazy("Mark delivered"), permissions=["dispatch"])
    def mark_delivered(self, request, queryset):
        delivered = 0
        for shipment in queryset.order_by("pk"):
            try:
                services.mark_delivered(shipment.pk, actor=request.user)
            except REFUSALS as error:
                messages.error(request, refusal_message(error))
            else:
                delivered += 1
        if delivered:
            messages.success(
                request,
                ngettext("%(count)d shipment marked delivered.", "%(count)d shipments marked delivered.", delivered)
                % {"count": delivered},
            )

    # Uploads

    def dispatch_upload_view(self, request):
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        return self.upload_view(request, DISPATCH_UPLOAD, on_success=self.dispatched)

    def events_upload_view(self, request):
        if not self.has_record_tracking_permission(request):
            raise PermissionDenied
        return self.upload_view(request, EVENTS_UPLOAD, on_success=self.events_recorded)

    @staticmethod
    def dispatched(request, shipments):
        messages.success(
            request,
            ngettext("%(count)d parcel dispatched.", "%(count)d parcels dispatched.", len(shipments))
            % {"count": len(shipments)},
        )

    @staticmethod
    def events_recorded(request, outcome):
        recorded, known = outcome
        messages.success(
            request,
            ngettext("%(count)d tracking event recorded.", "%(count)d tracking events recorded.", recorded)
            % {"count": recorded},
        )
        if known:
            messages.info(
                request,
                ngettext(
                    "%(count)d event was already known and was skipped.",
                    "%(count)d events were already known and were skipped.",
                    known,
                )
                % {"count": known},
            )

    def upload_view(self, request, upload, *, on_success):
        """GET: the upload form. POST with a file: the preview. POST with a payload: the confirmed
        preview is applied, all or nothing."""
        form = UploadForm()
        if request.method == "POST" and "payload" in request.POST:
            try:
                data = self.unsign(request, request.POST["payload"])
            except signing.BadSignature:
                messages.error(request, _("This preview is too old or was changed: upload the file again."))
                return redirect(upload.url_name)
            rows, names = upload.from_payload(data["rows"]), data["names"]
            try:
                outcome = upload.apply(rows, actor=request.user)
            except services.UploadRefused as refusal:
                return self.preview(request, upload, rows, problems=refusal.problems, payload="", names=names)
            except REFUSALS as error:
                messages.error(request, refusal_message(error))
                return redirect(upload.url_name)
            on_success(request, outcome)
            return redirect("admin:logistics_shipment_changelist")
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                sheet = upload.read(form.cleaned_data["file"])
                problems = [
                    (problem["row"], problem["column"], problem["message"]) for problem in sheet.problems.sorted()
                ]
                payload = (
                    ""
                    if problems
                    else signing.dumps(
                        {"user": request.user.pk, "rows": upload.to_payload(sheet.rows), "names": sheet.names},
                        salt=UPLOAD_SALT,
                        compress=True,
                    )
                )
                return self.preview(request, upload, sheet.rows, problems=problems, payload=payload, names=sheet.names)
        context = self.page_context(
            request,
            upload.title,
            form=form,
            columns=upload.columns,
            template_url=reverse(upload.template_url_name),
        )
        return TemplateResponse(request, "admin/logistics/shipment/upload.html", context)

    @staticmethod
    def unsign(request, payload):
        data = signing.loads(payload, salt=UPLOAD_SALT, max_age=UPLOAD_PREVIEW_MAX_AGE)
        if data.get("user") != request.user.pk:
            raise signing.BadSignature("preview of another person")
        return data

    def preview(self, request, upload, rows, *, problems, payload, names):
        """Every row as it was read, with what confirming will do or, for each problem, its row,
        column (as the file names it) and reason; the confirm button only when there is no problem
        at all."""
        planned = upload.plan(rows) if rows and not any(row is None for row, _c, _m in problems) else []
        problems = sorted(
            {*problems, *((row.row, column, message) for row in planned for column, message in row.errors.items())},
            key=lambda problem: (problem[0] or 0, problem[1]),
        )
        if problems:
            payload = ""
        by_row = {}
        for row, column, message in problems:
            by_row.setdefault(row, []).append((upload.columns.name(column, names), message))
        context = self.page_context(
            request,
            upload.title,
            problems=[
                {"row": row or "—", "column": upload.columns.name(column, names) or "—", "message": message}
                for row, column, message in problems
            ],
            rows=[
                {
                    "planned": row,
                    "problems": by_row.get(row.row, []),
                    "cells": [row.values.get(column.key, "") for column in upload.columns],
                }
                for row in planned
            ],
            columns=upload.columns,
            payload=payload,
            upload_url=reverse(upload.url_name),
            is_events=upload is EVENTS_UPLOAD,
        )
        return TemplateResponse(request, "admin/logistics/shipment/upload_preview.html", context)

    def dispatch_template_view(self, request):
        if not self.has_dispatch_permission(request):
            raise PermissionDenied
        return self.template_download(DISPATCH_UPLOAD)

    def events_template_view(self, request):
        if not self.has_record_tracking_permission(request):
            raise PermissionDenied
        return self.template_download(EVENTS_UPLOAD)

    @staticmethod
    def template_download(upload):
        response = HttpResponse(
            importers.template_workbook(upload.columns, upload.example), content_type=XLSX_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{upload.template_file_name}"'
        return response

    # The delivery-exceptions queue

    def exceptions_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        kind = request.GET.get("kind", "")
        if kind not in dict(QUEUE_KINDS):
            kind = ""
        page = Paginator(selectors.delivery_exceptions(today=today, kind=kind), EXCEPTIONS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        counts = selectors.delivery_exception_counts(today=today)
        may_record = self.has_record_tracking_permission(request)
        may_receive = request.user.has_perm(Inventory.RECEIVE_STOCK)
        interceptions = selectors.interceptions_of_parcels(shipment.pk for shipment in page.object_list)
        # A lost parcel's claim and replacement, read for the page in two queries ("Lost parcels").
        lost = selectors.lost_parcel_followups(
            shipment.pk for shipment in page.object_list if queue_kind(shipment) == ExceptionKind.LOST
        )
        context = self.page_context(
            request,
            _("Delivery exceptions"),
            page=page,
            kind=kind,
            today=today,
            kinds=[{"code": code, "label": label, "count": counts.get(code, 0)} for code, label in QUEUE_KINDS],
            total=sum(counts.values()),
            rows=[
                {
                    "shipment": shipment,
                    "kind": dict(QUEUE_KINDS)[queue_kind(shipment)],
                    "next_step": NEXT_STEPS[queue_kind(shipment)],
                    "days_late": days_late(shipment, today),
                    "last_event_status": (
                        TrackingEvent.Status(shipment.last_event_status).label if shipment.last_event_status else ""
                    ),
                    "order_url": order_page(shipment.order_id),
                    "shipment_url": shipment_page(shipment.pk),
                    "event_url": (
                        reverse("admin:logistics_shipment_tracking_event", args=[shipment.pk]) if may_record else ""
                    ),
                    "interception": interceptions.get(shipment.pk),
                    "receive_back_url": (
                        reverse("admin:logistics_shipment_receive_back", args=[shipment.pk])
                        if may_receive and shipment.status == Shipment.Status.RETURNED
                        else ""
                    ),
                    "lost": lost.get(shipment.pk),
                }
                for shipment in page.object_list
            ],
        )
        return TemplateResponse(request, "admin/logistics/shipment/exceptions.html", context)
