"""Two packers on one parcel at once, with real database connections on PostgreSQL (see
tests/test_concurrency.py for `race`). Whichever racer the database serves first, the assertions
hold: a parcel is closed once, and no line ever holds more units than the order asked for."""

from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from logistics import services as logistics
from logistics.models import PackingScanRefusal, Shipment, ShipmentLine
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place, staff, stock
from tests.test_concurrency import race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def product():
    item = ProductFactory()
    stock(item, WarehouseFactory(), 10)
    return item


def parcel_of(product, quantity):
    order = place(lines=[(product, quantity)])
    pick_all(order)
    return order.shipments.get()


def scan_all_but(shipment, product, left):
    line = shipment.lines.get()
    for _unit in range(line.quantity - left):
        logistics.pack_item(shipment.pk, product.barcode, actor=SYSTEM)


def assert_never_overpacked():
    assert not ShipmentLine.objects.filter(packed_quantity__gt=F("quantity")).exists()


def test_two_operators_closing_the_same_parcel_at_once_one_wins_and_the_other_is_told(product):
    shipment = parcel_of(product, 2)
    scan_all_but(shipment, product, 0)
    first, second = staff("Warehouse operator"), staff("Warehouse operator")

    outcomes = race(
        partial(logistics.finish_packing, shipment.pk, weight_kg="1.2", package_count=1, actor=first),
        partial(logistics.finish_packing, shipment.pk, weight_kg="1.4", package_count=2, actor=second),
    )

    closed, refused = split(outcomes, Shipment)
    assert len(closed) == 1 and len(refused) == 1
    assert isinstance(refused[0], TransitionRefused)
    assert "is Packed: there is nothing left to pack" in str(refused[0])
    winner = closed[0]
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED
    assert (shipment.weight_kg, shipment.package_count, shipment.packed_by_id) == (
        winner.weight_kg,
        winner.package_count,
        winner.packed_by_id,
    )
    assert Order.objects.get(pk=shipment.order_id).status == Order.Status.PACKED
    assert OrderEvent.objects.filter(order_id=shipment.order_id, transition="mark_packed").count() == 1


def test_two_operators_scanning_the_last_unit_at_once_one_is_accepted_and_one_told_it_is_complete(product):
    shipment = parcel_of(product, 3)
    scan_all_but(shipment, product, 1)

    outcomes = race(
        partial(logistics.pack_item, shipment.pk, product.barcode, actor=staff("Warehouse operator")),
        partial(logistics.pack_item, shipment.pk, product.sku, actor=staff("Warehouse operator")),
    )

    accepted, refused = split(outcomes, ShipmentLine)
    assert len(accepted) == 1 and len(refused) == 1
    assert isinstance(refused[0], ValidationError)
    # Whichever racer lost, by barcode or by SKU, is told the parcel is complete.
    assert refused[0].message_dict["code"][0].startswith(f"Order {shipment.order.number} is already complete: ")
    assert shipment.lines.get().packed_quantity == 3
    assert_never_overpacked()


def test_many_scans_racing_for_few_units_pack_exactly_the_units_ordered(product):
    shipment = parcel_of(product, 3)

    outcomes = race(*[partial(logistics.pack_item, shipment.pk, product.barcode, actor=SYSTEM) for _ in range(8)])

    accepted, refused = split(outcomes, ShipmentLine)
    assert len(accepted) == 3
    assert len(refused) == 5 and all(isinstance(error, ValidationError) for error in refused)
    assert shipment.lines.get().packed_quantity == 3
    assert_never_overpacked()


def test_closing_the_parcel_while_its_last_unit_is_scanned_never_packs_it_incomplete(product):
    shipment = parcel_of(product, 2)
    scan_all_but(shipment, product, 1)

    outcomes = race(
        partial(logistics.pack_item, shipment.pk, product.barcode, actor=SYSTEM),
        partial(logistics.finish_packing, shipment.pk, weight_kg="1", package_count=1, actor=SYSTEM),
    )

    scanned, closing = outcomes
    assert isinstance(scanned, ShipmentLine)
    shipment.refresh_from_db()
    if isinstance(closing, Shipment):
        # The scan was served first, so the parcel was complete when it closed.
        assert shipment.status == Shipment.Status.PACKED
    else:
        assert isinstance(closing, ValidationError) and "Still missing: 1 ×" in closing.messages[0]
        assert shipment.status == Shipment.Status.PENDING
    assert shipment.lines.get().packed_quantity == 2
    assert_never_overpacked()


def test_two_stations_scanning_the_same_last_unit_count_it_once_and_keep_the_losers_refusal(product):
    shipment = parcel_of(product, 2)
    scan_all_but(shipment, product, 1)
    first, second = staff("Warehouse operator"), staff("Warehouse operator")

    outcomes = race(
        partial(logistics.scan_item, shipment.pk, product.barcode, actor=first),
        partial(logistics.scan_item, shipment.pk, product.barcode, actor=second),
    )

    assert all(isinstance(answer, logistics.ScanAnswer) for answer in outcomes)
    (won,) = [answer for answer in outcomes if answer.accepted]
    (lost,) = [answer for answer in outcomes if not answer.accepted]
    assert won.sound == logistics.Sound.COMPLETE and lost.sound == logistics.Sound.REFUSED
    assert lost.complete and "is already complete" in lost.message
    assert shipment.lines.get().packed_quantity == 2
    assert_never_overpacked()
    refusal = PackingScanRefusal.objects.get()
    loser = second if outcomes[1] is lost else first
    assert (refusal.scanned_by, refusal.reason) == (loser, PackingScanRefusal.Reason.PARCEL_COMPLETE)
