"""The staff roles of every app as Django groups (docs/architecture.md, "Permissions"). Made after
every migrate, so a new install has them and a changed role reaches every install; permissions a
manager added by hand to a group stay."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from .permissions import Aftersales, Analytics, Core, Inventory, Logistics, Orders, Planning, Security

VIEW_ORDERS = [
    Orders.VIEW_ORDER,
    Orders.VIEW_ORDERLINE,
    Orders.VIEW_ALLOCATION,
    Orders.VIEW_PAYMENT,
    Orders.VIEW_ORDEREVENT,
    Orders.VIEW_ORDERNOTE,
    Orders.ADD_ORDERNOTE,
    Orders.VIEW_CHANNEL,
    Orders.VIEW_CUSTOMER,
    Orders.VIEW_ARCHIVEDORDER,
    Orders.VIEW_ORDERTAG,
    Inventory.VIEW_PRODUCT,
    Inventory.VIEW_WAREHOUSE,
    Inventory.VIEW_STOCKLEVEL,
    Logistics.VIEW_SHIPMENT,
    Logistics.VIEW_CARRIER,
]

ROLES = {
    "Order reviewer": VIEW_ORDERS
    + [
        Orders.REVIEW_ORDER,
        Orders.TAG_ORDER,
        Orders.HOLD_ORDER,
        Orders.EDIT_ORDER,
        Orders.MERGE_ORDERS,
        Orders.VIEW_CUSTOMER_NAME,
        Orders.VIEW_CUSTOMER_PHONE,
        Orders.VIEW_CUSTOMER_ADDRESS,
        Orders.VIEW_BLOCKEDCONTACT,
        Orders.ADD_BLOCKEDCONTACT,
    ],
    "Warehouse operator": VIEW_ORDERS
    + [
        Orders.PICK_ORDER,
        Orders.DISPATCH_ORDER,
        Orders.TAG_ORDER,
        Orders.VIEW_CUSTOMER_NAME,
        Orders.VIEW_CUSTOMER_ADDRESS,
        Inventory.VIEW_STOCKMOVEMENT,
        Inventory.RECEIVE_STOCK,
        Inventory.COUNT_STOCK,
        Inventory.VIEW_TRANSFER,
        Inventory.ADD_TRANSFER,
        Inventory.SEND_TRANSFER,
        Inventory.RECEIVE_TRANSFER,
        Inventory.VIEW_COUNTSESSION,
        Inventory.ADD_COUNTSESSION,
        # Receiving goods against purchase orders (docs/architecture.md, "Suppliers and purchase orders").
        Inventory.VIEW_PURCHASEORDER,
        Inventory.VIEW_SUPPLIER,
        Logistics.VIEW_PICKWAVE,
        Logistics.ADD_PICKWAVE,
        Logistics.VIEW_HANDOVERBATCH,
        Logistics.HAND_OVER_PARCELS,
        Logistics.PRINT_LABELS,
        Logistics.VIEW_TRACKINGNUMBERPOOL,
        Logistics.VIEW_POOLEDTRACKINGNUMBER,
        Logistics.VIEW_INTERCEPTION,
        Aftersales.VIEW_RETURNREQUEST,
        Aftersales.RECEIVE_RETURN,
    ],
    "Logistics coordinator": VIEW_ORDERS
    + [
        Orders.DISPATCH_ORDER,
        Orders.TAG_ORDER,
        Orders.CHANGE_ORDER_WAREHOUSE,
        Orders.VIEW_CUSTOMER_NAME,
        Orders.VIEW_CUSTOMER_PHONE,
        Orders.VIEW_CUSTOMER_ADDRESS,
        Logistics.ADD_CARRIER,
        Logistics.CHANGE_CARRIER,
        Logistics.CHOOSE_CARRIER,
        Logistics.RECORD_TRACKING,
        Logistics.VIEW_CARRIERSERVICE,
        Logistics.ADD_CARRIERSERVICE,
        Logistics.CHANGE_CARRIERSERVICE,
        Logistics.VIEW_HANDOVERBATCH,
        Logistics.HAND_OVER_PARCELS,
        Logistics.PRINT_LABELS,
        Logistics.VIEW_TRACKINGNUMBERPOOL,
        Logistics.VIEW_POOLEDTRACKINGNUMBER,
        Logistics.IMPORT_TRACKING_NUMBERS,
        Logistics.VIEW_INTERCEPTION,
        Logistics.REQUEST_INTERCEPTION,
        Logistics.VIEW_CARRIERCLAIM,
        Logistics.FILE_CLAIM,
        Logistics.SEND_REPLACEMENT,
    ],
    "Customer service": VIEW_ORDERS
    + [
        Orders.ADD_ORDER,
        Orders.VIEW_IMPORTPROFILE,
        Orders.ADD_IMPORTPROFILE,
        Orders.CHANGE_IMPORTPROFILE,
        Orders.CANCEL_ORDER,
        Orders.TAG_ORDER,
        Orders.HOLD_ORDER,
        Orders.EDIT_ORDER,
        Orders.MERGE_ORDERS,
        Orders.VIEW_CUSTOMER_NAME,
        Orders.VIEW_CUSTOMER_PHONE,
        Orders.VIEW_CUSTOMER_ADDRESS,
        Orders.CHANGE_CUSTOMER,
        Orders.EXPORT_CUSTOMER_DATA,
        Orders.VIEW_NOTIFICATION,
        Orders.RESEND_NOTIFICATION,
        Orders.VIEW_REFUND,
        Orders.REQUEST_REFUND,
        Logistics.VIEW_INTERCEPTION,
        Aftersales.VIEW_RETURNREQUEST,
        Aftersales.ADD_RETURNREQUEST,
        Aftersales.APPROVE_RETURN,
        Aftersales.RESOLVE_RETURN,
        Aftersales.VIEW_TICKET,
        Aftersales.ADD_TICKET,
        Aftersales.CHANGE_TICKET,
        Aftersales.HANDLE_TICKET,
        Aftersales.VIEW_FEEDBACK,
    ],
    "Finance": VIEW_ORDERS
    + [
        Orders.ADD_PAYMENT,
        Orders.VIEW_CUSTOMER_NAME,
        Orders.VIEW_CUSTOMER_PHONE,
        Orders.VIEW_REFUND,
        Orders.REQUEST_REFUND,
        Orders.APPROVE_REFUND,
        Aftersales.VIEW_RETURNREQUEST,
        # What carriers settled for lost parcels, matched against their payments.
        Logistics.VIEW_CARRIERCLAIM,
        Logistics.RECORD_CLAIM_PAYMENT,
        # Carriers pay over the cash they collect on delivery: Finance records their remittances.
        Logistics.VIEW_CODREMITTANCE,
        Logistics.RECORD_COD_REMITTANCE,
    ],
    # 采购: suppliers and what they supply, purchase orders drafted and sent (above the console's
    # threshold only once a manager approved them), and the stock they buy for.
    "Buyer": [
        Inventory.VIEW_PRODUCT,
        Inventory.VIEW_WAREHOUSE,
        Inventory.VIEW_STOCKLEVEL,
        Inventory.VIEW_STOCKMOVEMENT,
        Inventory.VIEW_SUPPLIER,
        Inventory.ADD_SUPPLIER,
        Inventory.CHANGE_SUPPLIER,
        Inventory.VIEW_SUPPLIERPRODUCT,
        Inventory.ADD_SUPPLIERPRODUCT,
        Inventory.CHANGE_SUPPLIERPRODUCT,
        Inventory.DELETE_SUPPLIERPRODUCT,
        Inventory.VIEW_PURCHASEORDER,
        Inventory.ADD_PURCHASEORDER,
        Inventory.SEND_PURCHASE_ORDER,
        # Replenishment: the suggestions, turned into draft purchase orders or, where another
        # warehouse has plenty, transfers (sent and received by the warehouses).
        Inventory.VIEW_TRANSFER,
        Inventory.ADD_TRANSFER,
        Inventory.VIEW_COUNTSESSION,
        Planning.VIEW_INVENTORY_FIGURES,
        Planning.CLASSIFY_PRODUCTS,
        Planning.VIEW_CLASSIFICATIONSETTINGS,
        Planning.VIEW_REPLENISHMENT,
        Planning.REPLENISH,
        Planning.VIEW_PRODUCTDEMAND,
    ],
    # Figures only: names, phones and addresses are masked on every page and export it sees.
    "Analyst": VIEW_ORDERS + [Analytics.VIEW_DASHBOARD, Planning.VIEW_INVENTORY_FIGURES],
}
MANAGER = "Manager"
MANAGED_APPS = ("inventory", "orders", "logistics", "aftersales", "incidents", "planning", "analytics")
# Besides everything in the apps: the personal-data access log
# (docs/architecture.md, "Personal data"); sign-in lockouts to see and lift, and a colleague's lost
# authenticator to reset (docs/architecture.md, "Sign-in and security").
MANAGER_ALSO = [
    Core.VIEW_PERSONALDATAACCESS,
    Security.VIEW_ACCESSATTEMPT,
    Security.DELETE_ACCESSATTEMPT,
    Security.VIEW_ACCESSLOG,
    Security.VIEW_TOTPDEVICE,
    Security.DELETE_TOTPDEVICE,
]

# Group names are data; these make them translatable where the console shows them.
ROLE_LABELS = {
    "Order reviewer": _("Order reviewer"),
    "Warehouse operator": _("Warehouse operator"),
    "Logistics coordinator": _("Logistics coordinator"),
    "Customer service": _("Customer service"),
    "Finance": _("Finance"),
    "Analyst": _("Analyst"),
    "Buyer": _("Buyer"),
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
    manager.permissions.add(*permissions(MANAGER_ALSO))
