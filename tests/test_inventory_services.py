"""The stock services: every change writes the ledger, the ledger always sums to the stock level,
and the database itself keeps 0 <= reserved <= on hand."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches, low_stock
from tests.factories import ProductFactory, WarehouseFactory, staff, stock

pytestmark = pytest.mark.django_db

Kind = StockMovement.Kind


def ledger(level):
    return list(level.movements.order_by("id").values_list("kind", "on_hand_change", "reserved_change"))


def quantities(level):
    level.refresh_from_db()
    return level.on_hand, level.reserved


def assert_ledger_whole():
    assert list(ledger_mismatches()) == []


def test_receive_adds_to_on_hand_and_writes_a_receipt_with_its_actor():
    user = staff("Warehouse operator")
    level = stock(ProductFactory(), WarehouseFactory(), 0)

    inventory.receive(stock_level_id=level.pk, quantity=7, actor=user, reference="PO-1", reason="delivery")

    assert quantities(level) == (7, 0)
    movement = level.movements.get()
    assert (movement.kind, movement.on_hand_change, movement.reference, movement.actor) == (
        Kind.RECEIPT,
        7,
        "PO-1",
        user,
    )
    assert_ledger_whole()


@pytest.mark.parametrize("quantity", [0, -3, 1.5, "4", True])
def test_receive_refuses_anything_but_a_positive_whole_number(quantity):
    level = stock(ProductFactory(), WarehouseFactory(), 2)

    with pytest.raises(ValidationError) as refused:
        inventory.receive(stock_level_id=level.pk, quantity=quantity, actor=SYSTEM)

    assert "quantity" in refused.value.message_dict
    assert quantities(level) == (2, 0)
    assert len(ledger(level)) == 1


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_adjust_needs_a_reason(reason):
    level = stock(ProductFactory(), WarehouseFactory(), 5)

    with pytest.raises(ValidationError) as refused:
        inventory.adjust(stock_level_id=level.pk, change=-1, reason=reason, actor=SYSTEM)

    assert "reason" in refused.value.message_dict
    assert quantities(level) == (5, 0)
    assert ledger(level) == [(Kind.RECEIPT, 5, 0)]


def test_adjust_books_the_change_with_its_reason():
    user = staff("Manager")
    level = stock(ProductFactory(), WarehouseFactory(), 5)

    inventory.adjust(stock_level_id=level.pk, change=-2, reason="  broken in storage ", actor=user)
    inventory.adjust(stock_level_id=level.pk, change=4, reason="found behind shelf", actor=user)

    assert quantities(level) == (7, 0)
    adjustments = level.movements.filter(kind=Kind.ADJUSTMENT).order_by("id")
    assert [(m.on_hand_change, m.reason, m.actor) for m in adjustments] == [
        (-2, "broken in storage", user),
        (4, "found behind shelf", user),
    ]
    assert_ledger_whole()


def test_adjust_cannot_take_on_hand_below_what_is_reserved():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    inventory.reserve([inventory.Demand("line", product.pk, 3)], actor=SYSTEM)

    with pytest.raises(ValidationError) as refused:
        inventory.adjust(stock_level_id=level.pk, change=-3, reason="damaged", actor=SYSTEM)

    assert "change" in refused.value.message_dict
    assert quantities(level) == (5, 3)
    inventory.adjust(stock_level_id=level.pk, change=-2, reason="damaged", actor=SYSTEM)
    assert quantities(level) == (3, 3)
    assert_ledger_whole()


def test_adjust_refuses_a_zero_change():
    level = stock(ProductFactory(), WarehouseFactory(), 5)

    with pytest.raises(ValidationError) as refused:
        inventory.adjust(stock_level_id=level.pk, change=0, reason="nothing", actor=SYSTEM)

    assert "change" in refused.value.message_dict
    assert len(ledger(level)) == 1


def test_stock_count_books_the_difference_to_what_was_counted():
    level = stock(ProductFactory(), WarehouseFactory(), 10)

    inventory.record_count(stock_level_id=level.pk, counted=8, actor=SYSTEM)
    inventory.record_count(stock_level_id=level.pk, counted=11, actor=SYSTEM)

    assert quantities(level) == (11, 0)
    assert ledger(level) == [(Kind.RECEIPT, 10, 0), (Kind.COUNT, -2, 0), (Kind.COUNT, 3, 0)]
    assert_ledger_whole()


def test_stock_count_that_matches_the_books_writes_nothing():
    level = stock(ProductFactory(), WarehouseFactory(), 10)

    inventory.record_count(stock_level_id=level.pk, counted=10, actor=SYSTEM)

    assert ledger(level) == [(Kind.RECEIPT, 10, 0)]


@pytest.mark.parametrize("counted", [-1, 2.0, "3"])
def test_stock_count_refuses_anything_but_a_whole_number_of_zero_or_more(counted):
    level = stock(ProductFactory(), WarehouseFactory(), 10)

    with pytest.raises(ValidationError) as refused:
        inventory.record_count(stock_level_id=level.pk, counted=counted, actor=SYSTEM)

    assert "counted" in refused.value.message_dict
    assert quantities(level) == (10, 0)


def test_stock_count_below_the_reserved_quantity_is_refused():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 10)
    inventory.reserve([inventory.Demand("line", product.pk, 4)], actor=SYSTEM)

    with pytest.raises(ValidationError) as refused:
        inventory.record_count(stock_level_id=level.pk, counted=3, actor=SYSTEM)

    assert "counted" in refused.value.message_dict
    assert quantities(level) == (10, 4)
    assert_ledger_whole()


def test_reserve_release_and_ship_out_each_write_the_ledger_and_it_sums_to_the_stock_level():
    user = staff("Warehouse operator")
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 10)

    inventory.reserve([inventory.Demand("a", product.pk, 6)], reference="OC-1", actor=user)
    assert quantities(level) == (10, 6)
    inventory.release([(level.pk, 2)], reference="OC-1", actor=user)
    assert quantities(level) == (10, 4)
    inventory.ship_out([(level.pk, 4)], reference="OC-1", actor=user)
    assert quantities(level) == (6, 0)

    assert ledger(level) == [
        (Kind.RECEIPT, 10, 0),
        (Kind.RESERVATION, 0, 6),
        (Kind.RELEASE, 0, -2),
        (Kind.SHIPMENT, -4, -4),
    ]
    assert set(level.movements.exclude(kind=Kind.RECEIPT).values_list("reference", "actor")) == {("OC-1", user.pk)}
    assert_ledger_whole()


def test_releasing_more_than_is_reserved_is_refused_and_writes_nothing():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 10)
    inventory.reserve([inventory.Demand("a", product.pk, 2)], actor=SYSTEM)

    with pytest.raises(ValidationError):
        inventory.release([(level.pk, 3)], actor=SYSTEM)

    assert quantities(level) == (10, 2)
    assert level.movements.count() == 2
    assert_ledger_whole()


def test_shipping_out_more_than_is_reserved_is_refused_and_writes_nothing():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 10)
    inventory.reserve([inventory.Demand("a", product.pk, 2)], actor=SYSTEM)

    with pytest.raises(ValidationError):
        inventory.ship_out([(level.pk, 3)], actor=SYSTEM)

    assert quantities(level) == (10, 2)
    assert level.movements.count() == 2


def test_ledger_mismatches_finds_a_stock_level_changed_behind_the_ledger():
    level = stock(ProductFactory(), WarehouseFactory(), 10)
    assert_ledger_whole()

    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") + 1)

    assert list(ledger_mismatches()) == [level]


def test_database_refuses_more_reserved_than_on_hand_even_without_the_services():
    level = stock(ProductFactory(), WarehouseFactory(), 3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(reserved=4)

    assert quantities(level) == (3, 0)


def test_database_refuses_negative_reserved_even_without_the_services():
    level = stock(ProductFactory(), WarehouseFactory(), 3)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(reserved=-1)

    assert quantities(level) == (3, 0)


def test_database_refuses_on_hand_below_reserved_even_without_the_services():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 3)
    inventory.reserve([inventory.Demand("a", product.pk, 2)], actor=SYSTEM)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(on_hand=1)

    assert quantities(level) == (3, 2)


def reserved_by_warehouse(plan):
    return sorted((r.key, r.stock_level.warehouse.code, r.quantity) for r in plan)


def test_reservation_takes_everything_from_the_highest_priority_warehouse_that_can_fill_it():
    first, second = WarehouseFactory(code="A", priority=1), WarehouseFactory(code="B", priority=2)
    shirt, socks = ProductFactory(), ProductFactory()
    for warehouse in (second, first):
        stock(shirt, warehouse, 10)
        stock(socks, warehouse, 10)

    plan, shortages = inventory.reserve(
        [inventory.Demand(1, shirt.pk, 2), inventory.Demand(2, socks.pk, 3)], actor=SYSTEM
    )
    assert shortages == {}

    assert reserved_by_warehouse(plan) == [(1, "A", 2), (2, "A", 3)]
    assert quantities(inventory.stock_level_for(shirt, second)) == (10, 0)
    assert_ledger_whole()


def test_reservation_prefers_one_lower_priority_warehouse_over_splitting_the_order():
    first, second = WarehouseFactory(code="A", priority=1), WarehouseFactory(code="B", priority=2)
    shirt, socks = ProductFactory(), ProductFactory()
    stock(shirt, first, 10)
    stock(shirt, second, 10)
    stock(socks, second, 10)

    plan, shortages = inventory.reserve(
        [inventory.Demand(1, shirt.pk, 2), inventory.Demand(2, socks.pk, 3)], actor=SYSTEM
    )
    assert shortages == {}

    assert reserved_by_warehouse(plan) == [(1, "B", 2), (2, "B", 3)]


def test_reservation_splits_across_warehouses_by_priority_when_no_single_one_can_fill_it():
    product = ProductFactory()
    third = WarehouseFactory(code="C", priority=3)
    second = WarehouseFactory(code="B", priority=2)
    first = WarehouseFactory(code="A", priority=1)
    stock(product, third, 5)
    stock(product, second, 5)
    stock(product, first, 3)

    plan, shortages = inventory.reserve([inventory.Demand(1, product.pk, 7)], actor=SYSTEM)
    assert shortages == {}

    assert reserved_by_warehouse(plan) == [(1, "A", 3), (1, "B", 4)]
    assert quantities(inventory.stock_level_for(product, first)) == (3, 3)
    assert quantities(inventory.stock_level_for(product, second)) == (5, 4)
    assert quantities(inventory.stock_level_for(product, third)) == (5, 0)
    assert_ledger_whole()


def test_reservation_ignores_inactive_warehouses():
    product = ProductFactory()
    closed = WarehouseFactory(code="A", priority=1, active=False)
    open_ = WarehouseFactory(code="B", priority=2)
    stock(product, closed, 10)
    stock(product, open_, 10)

    plan, shortages = inventory.reserve([inventory.Demand(1, product.pk, 2)], actor=SYSTEM)
    assert shortages == {}

    assert reserved_by_warehouse(plan) == [(1, "B", 2)]


def test_reservation_is_all_or_nothing_and_names_the_short_products():
    warehouse = WarehouseFactory()
    plenty, scarce, absent = ProductFactory(), ProductFactory(), ProductFactory()
    plenty_level = stock(plenty, warehouse, 10)
    scarce_level = stock(scarce, warehouse, 1)

    plan, shortages = inventory.reserve(
        [
            inventory.Demand(1, plenty.pk, 2),
            inventory.Demand(2, scarce.pk, 3),
            inventory.Demand(3, absent.pk, 1),
        ],
        actor=SYSTEM,
    )

    assert (plan, shortages) == ([], {scarce.pk: 2, absent.pk: 1})
    assert quantities(plenty_level) == (10, 0)
    assert quantities(scarce_level) == (1, 0)
    assert not StockMovement.objects.filter(kind=Kind.RESERVATION).exists()
    assert_ledger_whole()


def test_reservation_counts_two_lines_of_one_product_together():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 3)

    plan, shortages = inventory.reserve(
        [inventory.Demand(1, product.pk, 2), inventory.Demand(2, product.pk, 2)], actor=SYSTEM
    )

    assert (plan, shortages) == ([], {product.pk: 1})
    assert quantities(level) == (3, 0)


def test_low_stock_lists_levels_whose_available_quantity_reached_the_reorder_point():
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 5)
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=3)
    assert list(low_stock()) == []

    inventory.reserve([inventory.Demand(1, product.pk, 2)], actor=SYSTEM)

    assert list(low_stock()) == [level]


@pytest.mark.parametrize(
    ("role", "booking"),
    [
        (
            "Warehouse operator",
            lambda level, user: inventory.adjust(stock_level_id=level.pk, change=-1, reason="broken", actor=user),
        ),
        ("Customer service", lambda level, user: inventory.receive(stock_level_id=level.pk, quantity=1, actor=user)),
        ("Finance", lambda level, user: inventory.record_count(stock_level_id=level.pk, counted=0, actor=user)),
        (
            "Warehouse operator",
            lambda level, user: inventory.set_storage(
                stock_level_id=level.pk, bin_location="Z-9", reorder_point=3, actor=user
            ),
        ),
    ],
)
def test_a_role_without_the_permission_cannot_book_stock_and_nothing_changes(role, booking):
    level = stock(ProductFactory(), WarehouseFactory(), 5, bin_location="A-1")

    with pytest.raises(PermissionDenied):
        booking(level, staff(role))

    level.refresh_from_db()
    assert (level.on_hand, level.reserved, level.bin_location, level.reorder_point) == (5, 0, "A-1", 0)
    assert ledger(level) == [(Kind.RECEIPT, 5, 0)]


def test_storage_settings_change_without_touching_quantities_or_the_ledger():
    level = stock(ProductFactory(), WarehouseFactory(), 5, bin_location="A-1")

    inventory.set_storage(stock_level_id=level.pk, bin_location=" B-07 ", reorder_point=4, actor=staff("Manager"))

    level.refresh_from_db()
    assert (level.on_hand, level.bin_location, level.reorder_point) == (5, "B-07", 4)
    assert ledger(level) == [(Kind.RECEIPT, 5, 0)]


def test_receiving_a_product_new_to_a_warehouse_makes_its_stock_level():
    product, warehouse = ProductFactory(), WarehouseFactory()

    level = inventory.receive_at(product=product, warehouse=warehouse, quantity=3, actor=staff("Warehouse operator"))

    assert (level.product, level.warehouse, level.on_hand) == (product, warehouse, 3)
    assert ledger(level) == [(Kind.RECEIPT, 3, 0)]


def test_a_receipt_larger_than_any_delivery_is_refused_before_it_reaches_the_database():
    level = stock(ProductFactory(), WarehouseFactory(), 0)

    with pytest.raises(ValidationError) as refused:
        inventory.receive(stock_level_id=level.pk, quantity=3_000_000_000, actor=SYSTEM)

    assert list(refused.value.message_dict) == ["quantity"]
    assert quantities(level) == (0, 0)
