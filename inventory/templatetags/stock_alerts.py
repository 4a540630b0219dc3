from django import template

from core.permissions import Inventory

from .. import selectors
from ..admin.stock import low_stock_url

register = template.Library()


@register.inclusion_tag("admin/inventory/low_stock_alert.html", takes_context=True)
def low_stock_alert(context):
    """The low-stock count for the admin index, linking to the filtered stock list; nothing for
    users who may not see stock levels."""
    user = context.get("user")
    if user is None or not user.has_perm(Inventory.VIEW_STOCKLEVEL):
        return {"low_stock_count": None}
    return {"low_stock_count": selectors.low_stock().count(), "low_stock_url": low_stock_url()}
