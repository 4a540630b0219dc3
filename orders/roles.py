"""The staff roles of DESIGN.md as Django groups. Run after every migrate, so a new install has them
and a changed role reaches every install; permissions a manager added by hand to a group stay."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

VIEW_ORDERS = [
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_allocation",
    "orders.view_payment",
    "orders.view_orderevent",
    "orders.view_ordernote",
    "orders.add_ordernote",
    "orders.view_channel",
    "orders.view_customer",
    "inventory.view_product",
    "inventory.view_warehouse",
    "inventory.view_stocklevel",
    "logistics.view_shipment",
    "logistics.view_carrier",
]

ROLES = {
    "Order reviewer": VIEW_ORDERS
    + [
        "orders.review_order",
        "orders.view_customer_phone",
        "orders.view_blockedcontact",
        "orders.add_blockedcontact",
    ],
    "Warehouse operator": VIEW_ORDERS
    + [
        "orders.pick_order",
        "orders.dispatch_order",
        "inventory.view_stockmovement",
        "inventory.receive_stock",
        "inventory.count_stock",
        "logistics.view_pickwave",
        "logistics.add_pickwave",
        "aftersales.view_returnrequest",
        "aftersales.receive_return",
    ],
    "Logistics coordinator": VIEW_ORDERS
    + [
        "orders.dispatch_order",
        "orders.view_customer_phone",
        "logistics.add_carrier",
        "logistics.change_carrier",
        "logistics.choose_carrier",
        "logistics.record_tracking",
        "logistics.view_carrierservice",
        "logistics.add_carrierservice",
        "logistics.change_carrierservice",
    ],
    "Customer service": VIEW_ORDERS
    + [
        "orders.add_order",
        "orders.cancel_order",
        "orders.view_customer_phone",
        "orders.change_customer",
        "orders.view_notification",
        "orders.resend_notification",
        "orders.view_refund",
        "orders.request_refund",
        "aftersales.view_returnrequest",
        "aftersales.add_returnrequest",
        "aftersales.approve_return",
        "aftersales.resolve_return",
        "aftersales.view_ticket",
        "aftersales.add_ticket",
        "aftersales.change_ticket",
        "aftersales.handle_ticket",
        "aftersales.view_feedback",
    ],
    "Finance": VIEW_ORDERS
    + [
        "orders.add_payment",
        "orders.view_customer_phone",
        "orders.view_refund",
        "orders.request_refund",
        "orders.approve_refund",
        "aftersales.view_returnrequest",
    ],
}
MANAGER = "Manager"
MANAGED_APPS = ("inventory", "orders", "logistics", "aftersales", "analytics")

# Group names are data; these make them translatable where the console shows them.
ROLE_LABELS = {
    "Order reviewer": _("Order reviewer"),
    "Warehouse operator": _("Warehouse operator"),
    "Logistics coordinator": _("Logistics coordinator"),
    "Customer service": _("Customer service"),
    "Finance": _("Finance"),
    MANAGER: _("Manager"),
}


def ensure_roles(sender, using="default", **kwargs):
    """Create the role groups with their permissions. post_migrate runs this after the whole
    migration plan, when every table exists; each run is idempotent."""
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)

    def permissions(names):
        wanted = {tuple(name.split(".", 1)) for name in names}
        found = (
            Permission.objects.using(using)
            .filter(
                content_type__app_label__in={app for app, _codename in wanted},
                codename__in={codename for _app, codename in wanted},
            )
            .select_related("content_type")
        )
        return [p for p in found if (p.content_type.app_label, p.codename) in wanted]

    for name, perms in ROLES.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*permissions(perms))
    manager, _created = Group.objects.using(using).get_or_create(name=MANAGER)
    manager.permissions.add(*Permission.objects.using(using).filter(content_type__app_label__in=MANAGED_APPS))
