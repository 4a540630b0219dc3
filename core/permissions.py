"""Every permission the project checks, and the one way a service checks it (docs/architecture.md,
"Permissions").

A permission is Django's `"app_label.codename"` string. It is spelled here and nowhere else: services,
admin, forms, the API, template tags, the FSM transitions of the models and the roles all name it
through these constants, one class per app that declares it. A test keeps other modules free of
the literals."""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .actors import SYSTEM, Actor, ensure_actor


class Core:
    VIEW_PERSONALDATAACCESS = "core.view_personaldataaccess"


class Inventory:
    VIEW_PRODUCT = "inventory.view_product"
    ADD_PRODUCT = "inventory.add_product"
    CHANGE_PRODUCT = "inventory.change_product"
    VIEW_WAREHOUSE = "inventory.view_warehouse"
    CHANGE_WAREHOUSE = "inventory.change_warehouse"
    VIEW_STOCKLEVEL = "inventory.view_stocklevel"
    CHANGE_STOCKLEVEL = "inventory.change_stocklevel"
    VIEW_STOCKMOVEMENT = "inventory.view_stockmovement"
    RECEIVE_STOCK = "inventory.receive_stock"
    ADJUST_STOCK = "inventory.adjust_stock"
    COUNT_STOCK = "inventory.count_stock"
    # Transfers between warehouses: drafted by warehouse operators and buyers, sent and received by
    # warehouse operators (docs/architecture.md, "Transfers between warehouses").
    VIEW_TRANSFER = "inventory.view_transfer"
    ADD_TRANSFER = "inventory.add_transfer"
    SEND_TRANSFER = "inventory.send_transfer"
    RECEIVE_TRANSFER = "inventory.receive_transfer"
    # Count sessions (docs/architecture.md, "Stock counts"): opened and counted by warehouse
    # operators (Inventory.COUNT_STOCK), variances above the settings' limits approved by a manager.
    VIEW_COUNTSESSION = "inventory.view_countsession"
    ADD_COUNTSESSION = "inventory.add_countsession"
    APPROVE_COUNT = "inventory.approve_count"
    CHANGE_COUNTSETTINGS = "inventory.change_countsettings"
    # Buying (docs/architecture.md, "Suppliers and purchase orders"): a buyer drafts purchase orders
    # (ADD_PURCHASEORDER) and sends them; one worth more than the console's threshold needs a
    # manager's approval first. Receiving against one is RECEIVE_STOCK.
    VIEW_SUPPLIER = "inventory.view_supplier"
    ADD_SUPPLIER = "inventory.add_supplier"
    CHANGE_SUPPLIER = "inventory.change_supplier"
    VIEW_SUPPLIERPRODUCT = "inventory.view_supplierproduct"
    ADD_SUPPLIERPRODUCT = "inventory.add_supplierproduct"
    CHANGE_SUPPLIERPRODUCT = "inventory.change_supplierproduct"
    DELETE_SUPPLIERPRODUCT = "inventory.delete_supplierproduct"
    VIEW_PURCHASEORDER = "inventory.view_purchaseorder"
    ADD_PURCHASEORDER = "inventory.add_purchaseorder"
    SEND_PURCHASE_ORDER = "inventory.send_purchase_order"
    APPROVE_PURCHASE_ORDER = "inventory.approve_purchase_order"
    CHANGE_PURCHASINGSETTINGS = "inventory.change_purchasingsettings"


class Orders:
    VIEW_ORDER = "orders.view_order"
    ADD_ORDER = "orders.add_order"
    REVIEW_ORDER = "orders.review_order"
    PICK_ORDER = "orders.pick_order"
    DISPATCH_ORDER = "orders.dispatch_order"
    CANCEL_ORDER = "orders.cancel_order"
    HOLD_ORDER = "orders.hold_order"
    COMPLETE_ORDER = "orders.complete_order"
    OVERRIDE_PRICE = "orders.override_price"
    EDIT_ORDER = "orders.edit_order"
    MERGE_ORDERS = "orders.merge_orders"
    VIEW_ORDERLINE = "orders.view_orderline"
    VIEW_ALLOCATION = "orders.view_allocation"
    VIEW_ORDEREVENT = "orders.view_orderevent"
    VIEW_ORDERNOTE = "orders.view_ordernote"
    ADD_ORDERNOTE = "orders.add_ordernote"
    VIEW_PAYMENT = "orders.view_payment"
    ADD_PAYMENT = "orders.add_payment"
    CHANGE_PAYMENT = "orders.change_payment"
    VIEW_REFUND = "orders.view_refund"
    REQUEST_REFUND = "orders.request_refund"
    APPROVE_REFUND = "orders.approve_refund"
    VIEW_CHANNEL = "orders.view_channel"
    ADD_CHANNELTOKEN = "orders.add_channeltoken"
    DELETE_CHANNELTOKEN = "orders.delete_channeltoken"
    VIEW_CUSTOMER = "orders.view_customer"
    CHANGE_CUSTOMER = "orders.change_customer"
    VIEW_CUSTOMER_PHONE = "orders.view_customer_phone"
    VIEW_CUSTOMER_NAME = "orders.view_customer_name"
    VIEW_CUSTOMER_ADDRESS = "orders.view_customer_address"
    EXPORT_CUSTOMER_DATA = "orders.export_customer_data"
    ERASE_CUSTOMER_DATA = "orders.erase_customer_data"
    VIEW_BLOCKEDCONTACT = "orders.view_blockedcontact"
    ADD_BLOCKEDCONTACT = "orders.add_blockedcontact"
    DELETE_BLOCKEDCONTACT = "orders.delete_blockedcontact"
    CHANGE_INTAKESETTINGS = "orders.change_intakesettings"
    ADD_CHANNELSKU = "orders.add_channelsku"
    CHANGE_CHANNELSKU = "orders.change_channelsku"
    VIEW_CHANNELSTOCKBUFFER = "orders.view_channelstockbuffer"
    ADD_CHANNELSTOCKBUFFER = "orders.add_channelstockbuffer"
    CHANGE_CHANNELSTOCKBUFFER = "orders.change_channelstockbuffer"
    DELETE_CHANNELSTOCKBUFFER = "orders.delete_channelstockbuffer"
    VIEW_NOTIFICATION = "orders.view_notification"
    RESEND_NOTIFICATION = "orders.resend_notification"
    ADD_NOTIFICATIONTEMPLATE = "orders.add_notificationtemplate"
    CHANGE_NOTIFICATIONTEMPLATE = "orders.change_notificationtemplate"
    VIEW_ARCHIVEDORDER = "orders.view_archivedorder"
    ARCHIVE_ORDERS = "orders.archive_orders"
    # Finding and acting on many orders: tags, and moving an order's reserved stock before picking.
    TAG_ORDER = "orders.tag_order"
    VIEW_ORDERTAG = "orders.view_ordertag"
    ADD_ORDERTAG = "orders.add_ordertag"
    CHANGE_ORDERTAG = "orders.change_ordertag"
    DELETE_ORDERTAG = "orders.delete_ordertag"
    CHANGE_ORDER_WAREHOUSE = "orders.change_order_warehouse"
    # How workbooks from elsewhere are read: mapped by whoever imports them, kept per channel.
    VIEW_IMPORTPROFILE = "orders.view_importprofile"
    ADD_IMPORTPROFILE = "orders.add_importprofile"
    CHANGE_IMPORTPROFILE = "orders.change_importprofile"
    DELETE_IMPORTPROFILE = "orders.delete_importprofile"


class Logistics:
    VIEW_SHIPMENT = "logistics.view_shipment"
    ADD_SHIPMENT = "logistics.add_shipment"
    CHOOSE_CARRIER = "logistics.choose_carrier"
    RECORD_TRACKING = "logistics.record_tracking"
    VIEW_PICKWAVE = "logistics.view_pickwave"
    ADD_PICKWAVE = "logistics.add_pickwave"
    VIEW_CARRIER = "logistics.view_carrier"
    ADD_CARRIER = "logistics.add_carrier"
    CHANGE_CARRIER = "logistics.change_carrier"
    VIEW_CARRIERSERVICE = "logistics.view_carrierservice"
    ADD_CARRIERSERVICE = "logistics.add_carrierservice"
    CHANGE_CARRIERSERVICE = "logistics.change_carrierservice"
    # The handover station: batches of parcels for a carrier's pickup (confirming also needs
    # Orders.DISPATCH_ORDER, which the dispatch it runs checks).
    VIEW_HANDOVERBATCH = "logistics.view_handoverbatch"
    HAND_OVER_PARCELS = "logistics.hand_over_parcels"
    # Printing slips and labels in batches: a print gives parcels numbers from their carrier
    # service's tracking-number pool and counts the labels printed (docs/architecture.md,
    # "Printing in batches"); the pools' numbers come from an import.
    PRINT_LABELS = "logistics.print_labels"
    VIEW_TRACKINGNUMBERPOOL = "logistics.view_trackingnumberpool"
    VIEW_POOLEDTRACKINGNUMBER = "logistics.view_pooledtrackingnumber"
    IMPORT_TRACKING_NUMBERS = "logistics.import_tracking_numbers"
    # Asking a carrier to stop a parcel on its way and bring it back (物流拦截), and recording its
    # answer. Receiving the parcel back at the warehouse is Inventory.RECEIVE_STOCK.
    VIEW_INTERCEPTION = "logistics.view_interception"
    REQUEST_INTERCEPTION = "logistics.request_interception"
    # Lost parcels (docs/architecture.md, "Lost parcels"): claims against carriers, their payment
    # recorded by finance, and the replacement sent to the customer.
    VIEW_CARRIERCLAIM = "logistics.view_carrierclaim"
    FILE_CLAIM = "logistics.file_carrier_claim"
    RECORD_CLAIM_PAYMENT = "logistics.record_claim_payment"
    SEND_REPLACEMENT = "logistics.send_replacement"
    # Carriers' cash-on-delivery remittances: uploading one also records payments, which needs
    # Orders.ADD_PAYMENT (checked by orders.services.record_cod_remitted).
    VIEW_CODREMITTANCE = "logistics.view_codremittance"
    RECORD_COD_REMITTANCE = "logistics.record_cod_remittance"


class Aftersales:
    VIEW_RETURNREQUEST = "aftersales.view_returnrequest"
    ADD_RETURNREQUEST = "aftersales.add_returnrequest"
    APPROVE_RETURN = "aftersales.approve_return"
    RECEIVE_RETURN = "aftersales.receive_return"
    RESOLVE_RETURN = "aftersales.resolve_return"
    ACCEPT_LATE_RETURN = "aftersales.accept_late_return"
    VIEW_TICKET = "aftersales.view_ticket"
    ADD_TICKET = "aftersales.add_ticket"
    CHANGE_TICKET = "aftersales.change_ticket"
    HANDLE_TICKET = "aftersales.handle_ticket"
    VIEW_FEEDBACK = "aftersales.view_feedback"


class Incidents:
    VIEW_INCIDENT = "incidents.view_incident"
    DECLARE_INCIDENT = "incidents.add_incident"
    ACT_ON_INCIDENT = "incidents.act_on_incident"
    CLOSE_INCIDENT = "incidents.close_incident"
    VIEW_RISK = "incidents.view_risk"
    ADD_RISK = "incidents.add_risk"
    CHANGE_RISK = "incidents.change_risk"


class Planning:
    # The inventory page (ABC classes, turnover, dead stock, stock value) and its Excel workbook;
    # recomputing its figures and the classes; the classification's thresholds.
    VIEW_INVENTORY_FIGURES = "planning.view_inventory_figures"
    CLASSIFY_PRODUCTS = "planning.classify_products"
    VIEW_CLASSIFICATIONSETTINGS = "planning.view_classificationsettings"
    CHANGE_CLASSIFICATIONSETTINGS = "planning.change_classificationsettings"
    # Replenishment (采购计划): buyers see the suggestions and turn them into draft purchase orders
    # and transfers; the settings are a manager's.
    VIEW_REPLENISHMENT = "planning.view_replenishmentsuggestion"
    REPLENISH = "planning.replenish"
    VIEW_PRODUCTDEMAND = "planning.view_productdemand"
    CHANGE_PLANNINGSETTINGS = "planning.change_planningsettings"


class Analytics:
    VIEW_DASHBOARD = "analytics.view_dashboard"


class Security:
    """Sign-in protection (django-axes lockouts, django-otp devices); docs/architecture.md,
    "Sign-in and security"."""

    VIEW_ACCESSATTEMPT = "axes.view_accessattempt"
    DELETE_ACCESSATTEMPT = "axes.delete_accessattempt"
    VIEW_ACCESSLOG = "axes.view_accesslog"
    VIEW_TOTPDEVICE = "otp_totp.view_totpdevice"
    DELETE_TOTPDEVICE = "otp_totp.delete_totpdevice"


PERMISSIONS_OF_APPS = (Core, Inventory, Orders, Logistics, Aftersales, Incidents, Planning, Analytics, Security)


def declared() -> Iterator[str]:
    """Every permission constant above."""
    for holder in PERMISSIONS_OF_APPS:
        for name, value in vars(holder).items():
            if name.isupper():
                yield value


def codename(permission: str) -> str:
    """The codename part of a permission, as a model's `Meta.permissions` declares it."""
    return permission.split(".", 1)[1]


def may(actor: Actor, permission: str | tuple[str, ...]) -> bool:
    """Whether `actor` holds `permission`, or any one of a tuple of them. The system holds every
    permission: what it does is decided by code, not by a role."""
    if ensure_actor(actor) is SYSTEM:
        return True
    alternatives = (permission,) if isinstance(permission, str) else permission
    return any(actor.has_perm(name) for name in alternatives)


def require(actor: Actor, permission: str | tuple[str, ...], message: str | None = None) -> None:
    """Refuse `actor` unless they hold `permission` (or any one of a tuple of them). `message` is
    the sentence the person is shown, naming what their role may not do; without one the sentence
    names the permission. `None` is no actor and raises TypeError."""
    if not may(actor, permission):
        raise PermissionDenied(message or refusal(permission))


def refusal(permission: str | tuple[str, ...]) -> str:
    alternatives = (permission,) if isinstance(permission, str) else permission
    return _("Your role does not have the permission “%(permission)s”.") % {
        "permission": " / ".join(label(name) for name in alternatives)
    }


def label(permission: str) -> str:
    """A permission's name as the admin lists it: the model's own label for the permissions the
    project declares (in the user's language), Django's for the add/change/delete/view ones."""
    app_label, name = permission.split(".", 1)
    for model in apps.get_app_config(app_label).get_models():
        opts = model._meta
        for declared_codename, declared_label in opts.permissions:
            if declared_codename == name:
                return str(declared_label)
        for action in opts.default_permissions:
            if get_permission_codename(action, opts) == name:
                return f"Can {action} {opts.verbose_name_raw}"
    return permission
