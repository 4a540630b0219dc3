"""The staff roles of docs/architecture.md ("Who uses it"): created on migrate with their permissions, and enforced by the
services themselves, whatever screen calls them."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from core import roles
from core.permissions import Core, Incidents, Inventory, Logistics, Orders, Planning
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Order, Payment
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db

REVIEWER, WAREHOUSE, LOGISTICS = "Order reviewer", "Warehouse operator", "Logistics coordinator"
SERVICE, FINANCE, MANAGER, ANALYST = "Customer service", "Finance", "Manager", "Analyst"
BUYER = "Buyer"
ORDER_ROLES = [REVIEWER, WAREHOUSE, LOGISTICS, SERVICE, FINANCE, MANAGER, ANALYST]
ALL_ROLES = [*ORDER_ROLES, BUYER]

# Who holds each permission that decides a step of the order cycle; everyone else must not.
HOLDERS = {
    Orders.REVIEW_ORDER: {REVIEWER, MANAGER},
    Orders.PICK_ORDER: {WAREHOUSE, MANAGER},
    Orders.DISPATCH_ORDER: {WAREHOUSE, LOGISTICS, MANAGER},
    Orders.CANCEL_ORDER: {SERVICE, MANAGER},
    Orders.COMPLETE_ORDER: {MANAGER},
    Orders.ADD_PAYMENT: {FINANCE, MANAGER},
    Orders.ADD_ORDER: {SERVICE, MANAGER},
    Orders.OVERRIDE_PRICE: {MANAGER},
    Orders.MERGE_ORDERS: {REVIEWER, SERVICE, MANAGER},
    Orders.VIEW_CUSTOMER_PHONE: {REVIEWER, LOGISTICS, SERVICE, FINANCE, MANAGER},
    # docs/architecture.md, "Personal data": who sees names and street addresses in full.
    Orders.VIEW_CUSTOMER_NAME: {REVIEWER, WAREHOUSE, LOGISTICS, SERVICE, FINANCE, MANAGER},
    Orders.VIEW_CUSTOMER_ADDRESS: {REVIEWER, WAREHOUSE, LOGISTICS, SERVICE, MANAGER},
    Orders.EXPORT_CUSTOMER_DATA: {SERVICE, MANAGER},
    Orders.ERASE_CUSTOMER_DATA: {MANAGER},
    Core.VIEW_PERSONALDATAACCESS: {MANAGER},
    Orders.CHANGE_INTAKESETTINGS: {MANAGER},
    Orders.ADD_CHANNELSKU: {MANAGER},
    Orders.CHANGE_CHANNELSKU: {MANAGER},
    # Whoever imports orders maps a new workbook and keeps its profile; only a manager deletes one.
    Orders.ADD_IMPORTPROFILE: {SERVICE, MANAGER},
    Orders.CHANGE_IMPORTPROFILE: {SERVICE, MANAGER},
    Orders.DELETE_IMPORTPROFILE: {MANAGER},
    Inventory.ADJUST_STOCK: {MANAGER},
    Inventory.RECEIVE_STOCK: {WAREHOUSE, MANAGER},
    Inventory.COUNT_STOCK: {WAREHOUSE, MANAGER},
    Inventory.CHANGE_PRODUCT: {MANAGER},
    # Transfers between warehouses: the warehouse drafts, sends and receives them.
    Inventory.ADD_TRANSFER: {BUYER, WAREHOUSE, MANAGER},
    Inventory.SEND_TRANSFER: {WAREHOUSE, MANAGER},
    Inventory.RECEIVE_TRANSFER: {WAREHOUSE, MANAGER},
    # Count sessions: the warehouse opens and counts them, a manager approves large variances.
    Inventory.ADD_COUNTSESSION: {WAREHOUSE, MANAGER},
    Inventory.APPROVE_COUNT: {MANAGER},
    Inventory.CHANGE_COUNTSETTINGS: {MANAGER},
    Logistics.ADD_PICKWAVE: {WAREHOUSE, MANAGER},
    Logistics.CHOOSE_CARRIER: {LOGISTICS, MANAGER},
    Logistics.RECORD_TRACKING: {LOGISTICS, MANAGER},
    Logistics.CHANGE_CARRIERSERVICE: {LOGISTICS, MANAGER},
    # The handover station: the warehouse hands parcels to the driver, the coordinator arranges pickups.
    Logistics.VIEW_HANDOVERBATCH: {WAREHOUSE, LOGISTICS, MANAGER},
    Logistics.HAND_OVER_PARCELS: {WAREHOUSE, LOGISTICS, MANAGER},
    Inventory.CHANGE_WAREHOUSE: {MANAGER},
    Incidents.DECLARE_INCIDENT: {MANAGER},
    Incidents.ACT_ON_INCIDENT: {MANAGER},
    Incidents.CLOSE_INCIDENT: {MANAGER},
    Incidents.VIEW_INCIDENT: {MANAGER},
    Incidents.CHANGE_RISK: {MANAGER},
    # The inventory page: figures for the analyst and the buyer; the buyer and the manager recompute,
    # the thresholds are the manager's.
    Planning.VIEW_INVENTORY_FIGURES: {ANALYST, BUYER, MANAGER},
    Planning.CLASSIFY_PRODUCTS: {BUYER, MANAGER},
    Planning.CHANGE_CLASSIFICATIONSETTINGS: {MANAGER},
    # Buying (docs/architecture.md, "Suppliers and purchase orders"): buyers draft and send, a
    # manager approves above the threshold, the warehouse receives.
    Inventory.ADD_SUPPLIER: {BUYER, MANAGER},
    Inventory.CHANGE_SUPPLIERPRODUCT: {BUYER, MANAGER},
    Inventory.ADD_PURCHASEORDER: {BUYER, MANAGER},
    Inventory.SEND_PURCHASE_ORDER: {BUYER, MANAGER},
    Inventory.APPROVE_PURCHASE_ORDER: {MANAGER},
    Inventory.CHANGE_PURCHASINGSETTINGS: {MANAGER},
    Inventory.VIEW_PURCHASEORDER: {BUYER, WAREHOUSE, MANAGER},
    # Replenishment: buyers see the suggestions and turn them into draft purchase orders and
    # transfers; the service level and review period are a manager's.
    Planning.VIEW_REPLENISHMENT: {BUYER, MANAGER},
    Planning.REPLENISH: {BUYER, MANAGER},
    Planning.CHANGE_PLANNINGSETTINGS: {MANAGER},
}


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 10)
    return item


def group_permissions(name):
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    }


def fresh(order):
    return Order.objects.get(pk=order.pk)


def held(product):
    return place(lines=[(product, 1)], city="", district="")


def test_every_role_group_exists_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


@pytest.mark.parametrize("permission", sorted(HOLDERS))
def test_each_permission_belongs_to_exactly_the_intended_roles(permission):
    holders = {role for role in ALL_ROLES if permission in group_permissions(role)}

    assert holders == HOLDERS[permission]


@pytest.mark.parametrize("role", ORDER_ROLES)
def test_every_role_of_the_order_cycle_can_look_at_orders(role):
    assert {Orders.VIEW_ORDER, Orders.VIEW_ORDEREVENT, Inventory.VIEW_STOCKLEVEL} <= group_permissions(role)


def test_a_buyer_sees_stock_but_not_orders():
    assert Inventory.VIEW_STOCKLEVEL in group_permissions(BUYER)
    assert Orders.VIEW_ORDER not in group_permissions(BUYER)


def test_the_manager_holds_every_permission_of_the_shop_apps_the_access_log_and_the_sign_in_ones():
    shop = Permission.objects.filter(content_type__app_label__in=roles.MANAGED_APPS)
    also = {
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in Group.objects.get(name=MANAGER).permissions.exclude(pk__in=shop)
    }

    assert set(Group.objects.get(name=MANAGER).permissions.filter(pk__in=shop)) == set(shop)
    assert also == set(roles.MANAGER_ALSO)
    assert Core.VIEW_PERSONALDATAACCESS in also


def test_running_the_role_setup_again_changes_nothing_and_keeps_permissions_added_by_hand():
    finance = Group.objects.get(name=FINANCE)
    extra = Permission.objects.get(content_type__app_label="orders", codename="change_payment")
    finance.permissions.add(extra)
    before = {name: group_permissions(name) for name in ALL_ROLES}

    roles.ensure_roles(sender=None)

    assert Group.objects.filter(name__in=ALL_ROLES).count() == len(ALL_ROLES)
    assert {name: group_permissions(name) for name in ALL_ROLES} == before
    assert Orders.CHANGE_PAYMENT in group_permissions(FINANCE)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_roles_that_need_them_see_full_phone_numbers(role):
    user = staff(role)

    assert user.has_perm(Orders.VIEW_CUSTOMER_PHONE) is (role in HOLDERS[Orders.VIEW_CUSTOMER_PHONE])


# --- the services enforce the roles ------------------------------------------------------------


def test_a_warehouse_operator_cannot_approve_a_held_order(product):
    order = held(product)

    with pytest.raises(PermissionDenied) as refused:
        orders.approve(order.pk, actor=staff(WAREHOUSE))

    assert order.number in str(refused.value)
    assert fresh(order).status == Order.Status.ON_HOLD
    assert StockLevel.objects.get().reserved == 0


def test_a_warehouse_operator_cannot_cancel_an_order(product):
    order = place(lines=[(product, 2)])

    with pytest.raises(PermissionDenied):
        orders.cancel(order.pk, actor=staff(WAREHOUSE), reason="no")

    assert fresh(order).status == Order.Status.CONFIRMED
    assert StockLevel.objects.get().reserved == 2


def test_a_warehouse_operator_can_pick_pack_and_dispatch(product):
    operator = staff(WAREHOUSE)

    order = advance(place(lines=[(product, 2)]), "shipped", actor=operator)

    assert order.status == Order.Status.SHIPPED
    assert set(order.events.exclude(to_status=Order.Status.CONFIRMED).values_list("actor", flat=True)) == {operator.pk}


def test_an_order_reviewer_can_approve_and_reject(product):
    reviewer = staff(REVIEWER)
    approved, rejected = held(product), held(product)

    orders.approve(approved.pk, actor=reviewer)
    orders.reject(rejected.pk, actor=reviewer, reason="fake")

    assert fresh(approved).status == Order.Status.CONFIRMED
    assert fresh(rejected).status == Order.Status.CANCELLED


def test_an_order_reviewer_cannot_start_picking(product):
    order = place(lines=[(product, 1)])

    with pytest.raises(PermissionDenied):
        logistics.create_pick_wave(StockLevel.objects.get().warehouse_id, [order.pk], actor=staff(REVIEWER))

    assert fresh(order).status == Order.Status.CONFIRMED
    assert not Shipment.objects.exists()


def test_customer_service_can_cancel_an_order(product):
    order = place(lines=[(product, 2)])

    orders.cancel(order.pk, actor=staff(SERVICE), reason="customer asked")

    assert fresh(order).status == Order.Status.CANCELLED
    assert StockLevel.objects.get().reserved == 0


def test_customer_service_cannot_approve(product):
    order = held(product)

    with pytest.raises(PermissionDenied):
        orders.approve(order.pk, actor=staff(SERVICE))

    assert fresh(order).status == Order.Status.ON_HOLD


def test_finance_can_record_a_payment(product):
    order = place(lines=[(product, 2)])

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=staff(FINANCE))

    assert fresh(order).payment_status == Order.PaymentStatus.PAID


@pytest.mark.parametrize("role", [WAREHOUSE, REVIEWER, SERVICE, LOGISTICS])
def test_roles_other_than_finance_and_manager_cannot_record_a_payment(product, role):
    order = place(lines=[(product, 2)])

    with pytest.raises(PermissionDenied):
        orders.record_payment(order.pk, method="card", amount=Decimal("50.00"), actor=staff(role))

    assert not Payment.objects.exists()
    assert fresh(order).payment_status == Order.PaymentStatus.UNPAID


def test_finance_cannot_dispatch(product):
    order = advance(place(lines=[(product, 2)]), "packed", actor=staff(MANAGER))

    with pytest.raises(PermissionDenied):
        logistics.dispatch(
            order.shipments.get().pk,
            carrier_id=CarrierFactory().pk,
            tracking_number=tracking_number(),
            actor=staff(FINANCE),
        )

    assert fresh(order).status == Order.Status.PACKED
    assert order.shipments.get().status == Shipment.Status.PACKED
    assert StockLevel.objects.get().on_hand == 10


def test_finance_cannot_record_a_delivery(product):
    order = advance(place(lines=[(product, 2)]), "shipped", actor=staff(MANAGER))

    with pytest.raises(PermissionDenied):
        logistics.mark_delivered(order.shipments.get().pk, actor=staff(FINANCE))

    assert fresh(order).status == Order.Status.SHIPPED


def test_only_the_manager_can_complete_a_delivered_order(product):
    order = advance(place(lines=[(product, 1)]), "delivered", actor=staff(MANAGER))

    with pytest.raises(PermissionDenied):
        orders.complete(order.pk, actor=staff(LOGISTICS))
    orders.complete(order.pk, actor=staff(MANAGER))

    assert fresh(order).status == Order.Status.COMPLETED


def test_the_manager_can_take_every_step(product):
    manager = staff(MANAGER)
    order = held(product)
    orders.approve(order.pk, actor=manager)
    order = advance(order, "shipped", actor=manager)
    orders.record_payment(order.pk, method="cod", amount=Decimal("10.00"), actor=manager)

    order = advance(order, "completed", actor=manager)
    other = held(product)
    orders.reject(other.pk, actor=manager, reason="duplicate")
    third = place(lines=[(product, 1)], phone="13900000001")
    orders.cancel(third.pk, actor=manager, reason="customer asked")

    assert order.status == Order.Status.COMPLETED
    assert fresh(other).status == fresh(third).status == Order.Status.CANCELLED
    assert set(order.events.exclude(from_status=Order.Status.PENDING).values_list("actor", flat=True)) == {manager.pk}


def step_names(order, user):
    return {t.name for t in fresh(order).get_available_user_status_transitions(user)}


@pytest.mark.parametrize(
    ("role", "on_hold", "confirmed"),
    [
        (REVIEWER, {"approve", "reject"}, set()),
        (WAREHOUSE, set(), {"start_picking"}),
        (LOGISTICS, set(), set()),
        (SERVICE, {"cancel"}, {"cancel"}),
        (FINANCE, set(), set()),
        (MANAGER, {"approve", "reject", "cancel"}, {"start_picking", "cancel"}),
    ],
)
def test_each_role_is_offered_only_the_steps_it_may_take(product, role, on_hold, confirmed):
    user = staff(role)

    assert step_names(held(product), user) == on_hold
    assert step_names(place(lines=[(product, 1)], phone="13900000001"), user) == confirmed
