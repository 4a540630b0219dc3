"""The public tracking page: a customer (who has no account) gives the order number and the last
four digits of the phone number and sees how far the order has come and where each parcel is.
Nothing personal is shown beyond a masked name and the city; a wrong guess and an unknown order
get the same answer, and guessing is slowed down by logistics.services.look_up_order_for_tracking
(docs/architecture.md, "Sign-in and security")."""

from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.clients import client_address
from orders.models import Order

from . import services
from .forms import TrackingLookupForm
from .models import Shipment
from .selectors import tracked_parcels

NOT_FOUND = gettext_lazy("We found no order with this number and phone number ending. Check both and try again.")
PROGRESS = [
    ("placed_at", gettext_lazy("Order placed")),
    ("confirmed_at", gettext_lazy("Confirmed")),
    ("shipped_at", gettext_lazy("Shipped")),
    ("delivered_at", gettext_lazy("Delivered")),
    ("completed_at", gettext_lazy("Completed")),
]


def masked_name(name):
    """王小明 → 王*, John Smith → J*: enough for the customer to recognise the parcel as theirs."""
    name = (name or "").strip()
    return f"{name[0]}*" if name else ""


def progress_of(order):
    """The order's steps so far and still to come, each with its time once reached."""
    if order.status == Order.Status.CANCELLED:
        return [
            {"label": PROGRESS[0][1], "time": order.placed_at, "done": True},
            {"label": _("Cancelled"), "time": order.cancelled_at, "done": True},
        ]
    steps = [
        {"label": label, "time": getattr(order, field), "done": getattr(order, field) is not None}
        for field, label in PROGRESS
    ]
    if order.status == Order.Status.PARTIALLY_SHIPPED:
        steps[2]["label"] = _("Partly shipped")
    if order.status == Order.Status.RETURNED:
        # It will not be delivered: the steps it took, then its return.
        return [step for step in steps if step["done"]] + [
            {"label": _("Returned to the shop"), "time": order.returned_at, "done": True}
        ]
    return steps


# What the customer is told of a parcel coming back: not how (refused, intercepted at our request).
CUSTOMER_STATUS = {
    Shipment.Status.RETURNED: gettext_lazy("Coming back to the shop"),
    Shipment.Status.RECEIVED_BACK: gettext_lazy("Back with the shop"),
}


def customer_status(shipment):
    if shipment.status in Shipment.OPEN:
        return _("Being prepared")
    return CUSTOMER_STATUS.get(shipment.status) or shipment.get_status_display()


def parcel_view(shipment):
    return {
        "carrier": shipment.carrier.name if shipment.carrier else "",
        "tracking_number": shipment.tracking_number if shipment.status not in Shipment.OPEN else "",
        "tracking_url": shipment.tracking_url if shipment.status not in Shipment.OPEN else "",
        "status": customer_status(shipment),
        "exception": shipment.get_exception_kind_display() if shipment.exception_kind else "",
        "expected_delivery_on": shipment.expected_delivery_on,
        "delivered_at": shipment.delivered_at,
        "events": shipment.events.all(),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def track(request):
    if request.method == "GET":
        form = TrackingLookupForm(initial={"order": request.GET.get("order", "")[:24]})
        return TemplateResponse(request, "logistics/track.html", {"form": form})
    whole_phone = "phone_whole" in request.POST
    form = TrackingLookupForm(request.POST, whole_phone=whole_phone)
    if not form.is_valid():
        return TemplateResponse(request, "logistics/track.html", {"form": form, "whole_phone": whole_phone})
    result = services.look_up_order_for_tracking(
        order_number=form.cleaned_data["order"],
        phone_suffix=form.cleaned_data.get("phone_last_four", ""),
        phone_whole=form.cleaned_data.get("phone_whole", ""),
        client=client_address(request),
    )
    # Asked again with the order number kept: the digits are part of someone's phone number and are
    # not written back into the page.
    whole_phone = whole_phone or result.needs_whole_phone
    retry = TrackingLookupForm(initial={"order": form.cleaned_data["order"]}, whole_phone=whole_phone)
    if result.needs_whole_phone:
        return TemplateResponse(request, "logistics/track.html", {"form": retry, "whole_phone": True})
    if result.blocked_until is not None:
        wait_seconds = max(int((result.blocked_until - timezone.now()).total_seconds()), 1)
        context = {"form": retry, "blocked_until": timezone.localtime(result.blocked_until)}
        return TemplateResponse(
            request, "logistics/track.html", context, status=429, headers={"Retry-After": str(wait_seconds)}
        )
    if result.order is None:
        context = {"form": retry, "not_found": NOT_FOUND, "whole_phone": whole_phone}
        return TemplateResponse(request, "logistics/track.html", context)
    order = result.order
    return TemplateResponse(
        request,
        "logistics/track_result.html",
        {
            "number": order.number,
            "name": masked_name(order.recipient),
            "city": order.city,
            "status": order.get_status_display(),
            "progress": progress_of(order),
            "parcels": [parcel_view(shipment) for shipment in tracked_parcels(order)],
        },
    )
