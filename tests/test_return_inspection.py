"""Inspected returns through the stock ledger: resellable goods back on hand, damaged goods into a
quarantine that is never for sale; and quarantined goods released or written off by a manager,
through the services and the stock console."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from aftersales import services
from aftersales.models import Outcome, ReturnRequest
from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, staff, stock
from tests.test_returns import ask, delivered_order, new_order, take_to

pytestmark = pytest.mark.django_db

Kind = StockMovement.Kind
Status = ReturnRequest.Status


def assert_ledger_whole():
    """The ledger sums to on hand, reserved and quarantined for every stock level."""
    assert list(ledger_mismatches()) == []


def level_of(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def product():
    return ProductFactory(sku="KETTLE")


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="RET")


@pytest.fixture
def received(product, warehouse):
    """A return of 3 kettles, received at the returns warehouse (which had 1 on the shelf)."""
    stock(product, warehouse, 1)
    order = delivered_order((product, 3))
    case = ask(order, (product, 3), actor=staff("Customer service"))
    return take_to(case, Status.RECEIVED, warehouse=warehouse)


def inspect(case, resellable, damaged, note=""):
    return services.inspect_return(
        case.pk, results={case.lines.get().pk: (resellable, damaged, note)}, actor=staff("Warehouse operator")
    )


def test_resellable_goods_go_back_on_hand_through_a_return_ledger_line(received, product, warehouse):
    inspect(received, 3, 0)

    level = level_of(product, warehouse)
    assert (level.on_hand, level.reserved, level.quarantined) == (4, 0, 0)
    movement = level.movements.get(kind=Kind.RETURN)
    assert (movement.on_hand_change, movement.quarantined_change, movement.reference) == (3, 0, received.number)
    assert received.lines.get().resellable_quantity == 3
    assert_ledger_whole()


def test_damaged_goods_go_into_quarantine_through_a_quarantine_ledger_line(received, product, warehouse):
    inspect(received, 1, 2, "Cracked lid")

    level = level_of(product, warehouse)
    assert (level.on_hand, level.quarantined, level.available) == (2, 2, 2)
    quarantine = level.movements.get(kind=Kind.QUARANTINE)
    assert (quarantine.on_hand_change, quarantine.quarantined_change, quarantine.reference) == (0, 2, received.number)
    line = received.lines.get()
    assert (line.resellable_quantity, line.damaged_quantity, line.inspection_note) == (1, 2, "Cracked lid")
    assert_ledger_whole()


def test_quarantined_goods_cannot_be_reserved_by_an_order(received, product, warehouse):
    inspect(received, 0, 3)
    level = level_of(product, warehouse)
    assert (level.on_hand, level.quarantined) == (1, 3)

    order = new_order([(product, 2)])

    assert order.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in order.hold_reasons] == ["out_of_stock"]
    level.refresh_from_db()
    assert (level.on_hand, level.reserved, level.quarantined) == (1, 0, 3)


def test_goods_returned_to_a_warehouse_that_never_held_the_product_start_its_stock_level(product):
    order = delivered_order((product, 1))
    elsewhere = WarehouseFactory()
    case = take_to(ask(order, (product, 1), actor=staff("Customer service")), Status.RECEIVED, warehouse=elsewhere)

    inspect(case, 1, 0)

    assert level_of(product, elsewhere).on_hand == 1
    assert_ledger_whole()


def test_goods_sent_in_for_repair_are_not_booked_into_stock(product, warehouse):
    order = delivered_order((product, 2))
    case = take_to(
        ask(order, (product, 2), actor=staff("Customer service"), wanted=Outcome.REPAIR),
        Status.RECEIVED,
        warehouse=warehouse,
    )
    movements_before = StockMovement.objects.count()

    inspect(case, 1, 1)

    assert StockMovement.objects.count() == movements_before
    assert not StockLevel.objects.filter(product=product, warehouse=warehouse).exists()
    assert ReturnRequest.objects.get().status == Status.INSPECTED


def test_inspection_of_two_lines_of_one_product_books_them_together(warehouse):
    product = ProductFactory()
    order = delivered_order((product, 1))
    order_two = delivered_order((product, 1))
    first = take_to(ask(order, (product, 1), actor=staff("Customer service")), Status.RECEIVED, warehouse=warehouse)
    second = take_to(
        ask(order_two, (product, 1), actor=staff("Customer service")), Status.RECEIVED, warehouse=warehouse
    )

    inspect(first, 1, 0)
    inspect(second, 0, 1)

    level = level_of(product, warehouse)
    assert (level.on_hand, level.quarantined) == (1, 1)
    assert_ledger_whole()


# Out of quarantine


@pytest.fixture
def quarantined(received, product, warehouse):
    inspect(received, 0, 3)
    return level_of(product, warehouse)


def test_a_manager_releases_quarantined_units_for_sale(quarantined):
    inventory.release_from_quarantine(
        stock_level_id=quarantined.pk, quantity=2, reason=" Only the box was dented ", actor=staff("Manager")
    )

    quarantined.refresh_from_db()
    assert (quarantined.on_hand, quarantined.quarantined, quarantined.available) == (3, 1, 3)
    movement = quarantined.movements.latest("pk")
    assert (movement.kind, movement.on_hand_change, movement.quarantined_change, movement.reason) == (
        Kind.QUARANTINE,
        2,
        -2,
        "Only the box was dented",
    )
    assert_ledger_whole()


def test_a_manager_writes_off_quarantined_units(quarantined):
    inventory.write_off_quarantined(
        stock_level_id=quarantined.pk, quantity=3, reason="Broken beyond repair", actor=staff("Manager")
    )

    quarantined.refresh_from_db()
    assert (quarantined.on_hand, quarantined.quarantined) == (1, 0)
    movement = quarantined.movements.latest("pk")
    assert (movement.kind, movement.on_hand_change, movement.quarantined_change) == (Kind.WRITE_OFF, 0, -3)
    assert_ledger_whole()


def test_more_than_is_in_quarantine_cannot_leave_it(quarantined):
    with pytest.raises(ValidationError) as refused:
        inventory.write_off_quarantined(
            stock_level_id=quarantined.pk, quantity=4, reason="Lost", actor=staff("Manager")
        )

    assert "only 3 units in quarantine" in " ".join(refused.value.message_dict["quantity"])
    quarantined.refresh_from_db()
    assert quarantined.quarantined == 3


def test_leaving_quarantine_needs_a_reason(quarantined):
    with pytest.raises(ValidationError) as refused:
        inventory.release_from_quarantine(stock_level_id=quarantined.pk, quantity=1, reason=" ", actor=staff("Manager"))

    assert "reason" in refused.value.message_dict


def test_a_warehouse_operator_cannot_release_or_write_off_quarantined_goods(quarantined):
    operator = staff("Warehouse operator")

    with pytest.raises(PermissionDenied):
        inventory.release_from_quarantine(stock_level_id=quarantined.pk, quantity=1, reason="fine", actor=operator)
    with pytest.raises(PermissionDenied):
        inventory.write_off_quarantined(stock_level_id=quarantined.pk, quantity=1, reason="gone", actor=operator)

    quarantined.refresh_from_db()
    assert quarantined.quarantined == 3


@pytest.mark.parametrize(
    "goods",
    [
        inventory.ReturnedGoods(product_id=0, resellable=-1, damaged=0),
        inventory.ReturnedGoods(product_id=0, resellable=1, damaged="2"),
        inventory.ReturnedGoods(product_id=0, resellable=True, damaged=0),
    ],
)
def test_taking_back_returned_goods_refuses_anything_but_whole_numbers(goods, warehouse):
    with pytest.raises(ValidationError):
        inventory.take_back_returned(warehouse, [goods], reference="RMA", actor=SYSTEM)

    assert not StockMovement.objects.exists()


# The stock console


def test_the_stock_level_page_shows_quarantine_and_offers_a_manager_release_and_write_off(client, quarantined):
    client.force_login(staff("Manager"))

    response = client.get(reverse("admin:inventory_stocklevel_change", args=[quarantined.pk]))

    content = response.content.decode()
    assert reverse("admin:inventory_stocklevel_release", args=[quarantined.pk]) in content
    assert reverse("admin:inventory_stocklevel_write_off", args=[quarantined.pk]) in content
    assert '<div class="readonly">3</div>' in content


def test_the_stock_list_shows_quarantined_units_and_their_bookings_only_where_there_are_some(client, quarantined):
    client.force_login(staff("Manager"))
    empty = stock(ProductFactory(), quarantined.warehouse, 5)

    response = client.get(reverse("admin:inventory_stocklevel_changelist"))

    content = response.content.decode()
    assert '<td class="field-quarantined">3</td>' in content
    assert reverse("admin:inventory_stocklevel_release", args=[quarantined.pk]) in content
    assert reverse("admin:inventory_stocklevel_release", args=[empty.pk]) not in content


def test_a_manager_releases_units_from_quarantine_in_the_console(client, quarantined):
    client.force_login(staff("Manager"))
    url = reverse("admin:inventory_stocklevel_release", args=[quarantined.pk])

    refused = client.post(url, {"quantity": "5", "reason": "fine"})
    done = client.post(url, {"quantity": "1", "reason": "Repaired in the workshop", "reference": "WS-1"})

    assert "only 3 units in quarantine" in refused.content.decode()
    assert done.status_code == 302
    quarantined.refresh_from_db()
    assert (quarantined.on_hand, quarantined.quarantined) == (2, 2)
    assert quarantined.movements.latest("pk").reference == "WS-1"


def test_a_manager_writes_off_quarantined_units_in_the_console_with_a_reason(client, quarantined):
    client.force_login(staff("Manager"))
    url = reverse("admin:inventory_stocklevel_write_off", args=[quarantined.pk])

    missing_reason = client.post(url, {"quantity": "1", "reason": ""})
    client.post(url, {"quantity": "2", "reason": "Shattered"})

    assert "Give a reason" in missing_reason.content.decode()
    quarantined.refresh_from_db()
    assert quarantined.quarantined == 1


def test_a_warehouse_operator_is_refused_the_quarantine_pages(client, quarantined):
    client.force_login(staff("Warehouse operator"))

    response = client.post(
        reverse("admin:inventory_stocklevel_write_off", args=[quarantined.pk]), {"quantity": "1", "reason": "gone"}
    )

    assert response.status_code == 403
    quarantined.refresh_from_db()
    assert quarantined.quarantined == 3


def test_a_quarantine_count_the_ledger_does_not_explain_is_a_ledger_mismatch(received, product, warehouse):
    inspect(received, 1, 2, "Cracked lid")
    level = level_of(product, warehouse)
    StockLevel.objects.filter(pk=level.pk).update(quarantined=5)

    assert list(ledger_mismatches()) == [level]
