"""The work waiting for each role, for the console's front page."""

from django import template
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core.permissions import Orders

from .. import selectors
from ..models import Order, Refund

register = template.Library()

QUEUE_CAP = 999
Status = Order.Status

# (label, permission that makes it this user's work, the orders, where to work on them)
QUEUES = [
    (
        _("Held for review"),
        Orders.REVIEW_ORDER,
        lambda: selectors.orders_in_status(Status.ON_HOLD),
        lambda: reverse("admin:orders_heldorder_changelist"),
    ),
    (
        _("Confirmed, to pick"),
        Orders.PICK_ORDER,
        lambda: selectors.orders_in_status(Status.CONFIRMED),
        lambda: _order_list(status__exact=Status.CONFIRMED),
    ),
    (
        _("Being picked, to pack"),
        Orders.PICK_ORDER,
        lambda: selectors.orders_in_status(Status.PICKING),
        lambda: _order_list(status__exact=Status.PICKING),
    ),
    (
        _("Packed, to dispatch"),
        Orders.DISPATCH_ORDER,
        lambda: selectors.orders_in_status(Status.PACKED),
        lambda: _order_list(status__exact=Status.PACKED),
    ),
    (
        _("Partially shipped, rest to dispatch"),
        Orders.DISPATCH_ORDER,
        lambda: selectors.orders_in_status(Status.PARTIALLY_SHIPPED),
        lambda: _order_list(status__exact=Status.PARTIALLY_SHIPPED),
    ),
    (
        _("Delivered, to complete"),
        Orders.COMPLETE_ORDER,
        lambda: selectors.orders_in_status(Status.DELIVERED),
        lambda: _order_list(status__exact=Status.DELIVERED),
    ),
    (
        _("Refunds to approve"),
        Orders.APPROVE_REFUND,
        lambda: selectors.refunds_in_status(Refund.Status.REQUESTED),
        lambda: _refund_list(status__exact=Refund.Status.REQUESTED),
    ),
    (
        _("Approved refunds to pay"),
        Orders.APPROVE_REFUND,
        lambda: selectors.refunds_in_status(Refund.Status.APPROVED),
        lambda: _refund_list(status__exact=Refund.Status.APPROVED),
    ),
]


def _order_list(**filters):
    return reverse("admin:orders_order_changelist") + "?" + urlencode(filters)


def _refund_list(**filters):
    return reverse("admin:orders_refund_changelist") + "?" + urlencode(filters)


def order_queues(user):
    """The order queues that are this user's work: label, count (up to QUEUE_CAP + 1), more, url."""
    queues = []
    for label, permission, orders, url in QUEUES:
        if user.has_perm(permission):
            count = selectors.count_up_to(orders(), QUEUE_CAP)
            queues.append({"label": label, "count": count, "more": count > QUEUE_CAP, "url": url()})
    return queues


@register.inclusion_tag("admin/orders/work_queues.html", takes_context=True)
def order_work_queues(context):
    return {"queues": order_queues(context["request"].user), "cap": QUEUE_CAP}
