"""One way to check a permission (core.permissions.require), an explicit system actor instead of a
None that skipped every check, and the permission strings spelled in one place."""

import ast
import copy
import pickle
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.core.management.sql import emit_post_migrate_signal

from core import permissions
from core.actors import SYSTEM
from core.permissions import Inventory, Orders, require
from core.roles import MANAGER, ROLES
from core.transitions import TransitionRefused, ensure_allowed
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from logistics import services as logistics
from orders import services as orders
from orders.models import Order, OrderEvent, OrderNote
from tests.factories import ProductFactory, WarehouseFactory, advance, order_input, place, staff, stock

pytestmark = pytest.mark.django_db

REPOSITORY = Path(settings.BASE_DIR)


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 10)
    return item


def fresh(order):
    return Order.objects.get(pk=order.pk)


# --- require ---------------------------------------------------------------------------------------


def test_require_refuses_a_role_without_the_permission():
    clerk = staff("Warehouse operator")

    with pytest.raises(PermissionDenied) as refused:
        require(clerk, Orders.REVIEW_ORDER, "Your role may not change delivery addresses.")

    assert str(refused.value) == "Your role may not change delivery addresses."


def test_without_a_sentence_the_refusal_names_the_permission_the_role_lacks():
    clerk = staff("Warehouse operator")

    with pytest.raises(PermissionDenied) as refused:
        require(clerk, Orders.REVIEW_ORDER)

    assert str(refused.value) == "Your role does not have the permission “Can approve or reject held orders”."


def test_require_lets_a_role_with_the_permission_pass():
    require(staff("Order reviewer"), Orders.REVIEW_ORDER)


def test_of_several_permissions_any_one_is_enough():
    finance, reviewer = staff("Finance"), staff("Order reviewer")

    require(finance, (Orders.DISPATCH_ORDER, Orders.ADD_PAYMENT))
    with pytest.raises(PermissionDenied):
        require(reviewer, (Orders.DISPATCH_ORDER, Orders.ADD_PAYMENT))


def test_require_refuses_none_as_a_bug_not_as_a_role():
    with pytest.raises(TypeError):
        require(None, Orders.VIEW_ORDER)


# --- None is no actor --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "service",
    [
        lambda order: orders.cancel(order.pk, actor=None, reason="customer asked"),
        lambda order: orders.complete(order.pk, actor=None),
        lambda order: orders.place_order(order_input(lines=[(order.lines.get().product, 1)]), actor=None),
        lambda order: orders.record_payment(order.pk, method="card", amount=Decimal("1.00"), actor=None),
        lambda order: logistics.create_pick_wave(order.shipments.get().warehouse_id, [order.pk], actor=None),
        lambda order: inventory.receive(stock_level_id=StockLevel.objects.get().pk, quantity=1, actor=None),
    ],
    ids=["cancel", "complete", "place_order", "record_payment", "create_pick_wave", "receive"],
)
def test_service_refuses_none_as_actor(product, service):
    order = advance(place(lines=[(product, 1)]), "picking")
    orders_before, events_before, movements_before = (
        Order.objects.count(),
        OrderEvent.objects.count(),
        StockMovement.objects.count(),
    )

    with pytest.raises(TypeError, match="No actor given"):
        service(order)

    assert fresh(order).status == Order.Status.PICKING
    assert (Order.objects.count(), OrderEvent.objects.count(), StockMovement.objects.count()) == (
        orders_before,
        events_before,
        movements_before,
    )


# --- the system --------------------------------------------------------------------------------------


def test_system_actor_may_take_system_steps(product):
    """Completing a delivered order is the manager's step for people; the acceptance window's
    scheduled run takes it as the system, and the order's history shows no person."""
    order = advance(place(lines=[(product, 1)]), "delivered", actor=staff(MANAGER))
    with pytest.raises(PermissionDenied):
        orders.complete(order.pk, actor=staff("Logistics coordinator"))

    event = orders.complete(order.pk, actor=SYSTEM)

    assert fresh(order).status == Order.Status.COMPLETED
    assert (event.transition, event.actor_id) == ("complete", None)


def test_the_system_holds_every_permission_the_project_checks():
    for permission in permissions.declared():
        require(SYSTEM, permission)


def test_the_system_passes_the_permission_of_every_transition_but_not_its_state(product):
    order = fresh(place(lines=[(product, 1)]))

    ensure_allowed(order, order.cancel, SYSTEM)
    with pytest.raises(TransitionRefused):
        ensure_allowed(order, order.complete, SYSTEM)


def test_the_system_stays_the_one_system_when_copied_or_pickled():
    assert copy.deepcopy(SYSTEM) is SYSTEM
    assert pickle.loads(pickle.dumps(SYSTEM)) is SYSTEM


def test_only_a_person_writes_a_note(product):
    order = place(lines=[(product, 1)])

    with pytest.raises(TypeError):
        orders.add_note(order.pk, author=SYSTEM, text="checked by the system")

    assert not OrderNote.objects.exists()


def test_stock_the_system_books_names_no_person(product):
    level = StockLevel.objects.get()

    inventory.receive(stock_level_id=level.pk, quantity=3, actor=SYSTEM, reference="PO-1")

    assert StockMovement.objects.latest("pk").actor_id is None


# --- the roles --------------------------------------------------------------------------------------


def test_roles_are_made_again_when_migrate_finishes():
    Group.objects.all().delete()

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert set(Group.objects.values_list("name", flat=True)) == {*ROLES, MANAGER}
    assert Group.objects.get(name="Warehouse operator").permissions.filter(codename="count_stock").exists()


# --- the constants ----------------------------------------------------------------------------------


def declared_by_the_models():
    """Every permission the installed models declare: Django's add/change/delete/view and each
    model's own."""
    names = set()
    for model in apps.get_models():
        opts = model._meta
        names |= {f"{opts.app_label}.{get_permission_codename(action, opts)}" for action in opts.default_permissions}
        names |= {f"{opts.app_label}.{codename}" for codename, _label in opts.permissions}
    return names


def test_every_permission_constant_names_a_permission_that_exists():
    stored = {
        f"{app}.{codename}" for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }

    assert set(permissions.declared()) - stored == set()


def test_a_model_declares_its_permissions_with_the_constants():
    assert permissions.codename(Inventory.COUNT_STOCK) in dict(StockLevel._meta.permissions)
    assert permissions.codename(Orders.REVIEW_ORDER) in dict(Order._meta.permissions)


def source_files():
    """The project's Python files, without the virtualenv and other hidden folders."""
    for top in sorted(REPOSITORY.iterdir()):
        if top.name.startswith("."):
            continue
        for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
            relative = path.relative_to(REPOSITORY)
            if path.suffix == ".py" and "migrations" not in relative.parts and relative != Path("core/permissions.py"):
                yield relative


def test_no_permission_is_spelled_outside_core_permissions():
    """Every check names its permission through core.permissions; a string such as
    "orders.review_order" anywhere else (tests included, migrations excepted) is a second spelling
    that a rename would miss."""
    known = declared_by_the_models()
    spelled = [
        f"{relative}:{node.lineno}: {node.value}"
        for relative in source_files()
        for node in ast.walk(ast.parse((REPOSITORY / relative).read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in known
    ]

    assert spelled == []


def test_only_a_role_with_the_permission_may_change_the_blocklist():
    from orders.models import BlockedContact
    from orders.services import blocklist

    with pytest.raises(PermissionDenied, match="may not add to the blocklist"):
        blocklist.block_contact(
            kind="phone", reason="chargebacks", phone="13800138000", actor=staff("Warehouse operator")
        )
    entry = blocklist.block_contact(
        kind="phone", reason="chargebacks", phone="13800138000", actor=staff("Order reviewer")
    )
    with pytest.raises(PermissionDenied, match="may not take entries off the blocklist"):
        blocklist.unblock(entry.pk, actor=staff("Order reviewer"))
    assert BlockedContact.objects.filter(pk=entry.pk).exists()

    blocklist.unblock(entry.pk, actor=staff(MANAGER))

    assert not BlockedContact.objects.exists()
