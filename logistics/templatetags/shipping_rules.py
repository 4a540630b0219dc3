"""The shipping rules' plan for an order, for the console's order page (the orders app may not
import logistics, so its page asks through this tag)."""

from django import template

from .. import selectors, services
from ..models import Shipment

register = template.Library()


@register.inclusion_tag("admin/logistics/includes/shipping_plan.html")
def shipping_plan(order):
    """The parcels the order's waiting goods would make in each warehouse where they are on no
    pick list yet, with the carrier service the rules would choose and why. `order` comes from
    orders.selectors.order_for_page, so its shipments are already fetched."""
    listed_in = {shipment.warehouse_id for shipment in order.shipments.all() if shipment.status in Shipment.OPEN}
    waiting = selectors.goods_waiting([order.pk]).get(order.pk, {})
    unlisted = {warehouse_id: parcel for warehouse_id, parcel in waiting.items() if warehouse_id not in listed_in}
    return {"plans": services.plan_parcels(order, unlisted) if unlisted else [], "order": order}
