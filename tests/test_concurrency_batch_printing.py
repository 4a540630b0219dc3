"""Printing labels raced between real PostgreSQL connections (see tests/test_concurrency.py for
`race`): two batch prints at once never give one pool number twice, a parcel printed twice at once
gets one number, and a print racing a parcel's switch to another carrier leaves the number burnt or
never given, never on a parcel of the wrong carrier."""

from collections import Counter
from functools import partial

import pytest

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import PooledTrackingNumber, Shipment, TrackingNumberPool
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    place_apart,
    staff,
    stock,
)
from tests.test_concurrency import race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standard():
    return CarrierServiceFactory(supports_cod=True)


def picked_parcels(count):
    warehouse = WarehouseFactory()
    level = stock(ProductFactory(), warehouse, 100)
    placed = [place_apart(lines=[(level.product, 1)]) for _index in range(count)]
    logistics.create_pick_wave(warehouse.pk, [order.pk for order in placed], actor=SYSTEM)
    return list(Shipment.objects.filter(order__in=placed).order_by("pk").values_list("pk", flat=True))


def fill_pool(service, count):
    pool = TrackingNumberPool.objects.create(service=service)
    PooledTrackingNumber.objects.bulk_create(
        [PooledTrackingNumber(pool=pool, carrier=service.carrier, number=f"SF{n:013d}") for n in range(1, count + 1)]
    )
    return pool


def assert_no_number_twice():
    numbers = list(Shipment.objects.exclude(tracking_number="").values_list("tracking_number", flat=True))
    assert len(numbers) == len(set(numbers))
    live = PooledTrackingNumber.objects.filter(burnt_at=None).exclude(shipment=None)
    assert max(Counter(live.values_list("shipment_id", flat=True)).values(), default=0) <= 1
    for number in live.select_related("carrier"):
        parcel = Shipment.objects.get(pk=number.shipment_id)
        assert (parcel.tracking_number, parcel.carrier_id) == (number.number, number.carrier_id)


def test_two_batch_prints_at_once_give_each_parcel_its_own_number(standard):
    parcels = picked_parcels(8)
    fill_pool(standard, 20)
    operators = [staff("Warehouse operator") for _index in range(2)]

    outcomes = race(
        partial(logistics.print_labels, parcels[:4], actor=operators[0]),
        partial(logistics.print_labels, parcels[4:], actor=operators[1]),
    )

    printed, failed = split(outcomes, logistics.Printed)
    assert failed == [] and sum(len(result.given) for result in printed) == 8
    assert Shipment.objects.filter(pk__in=parcels).exclude(tracking_number="").count() == 8
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 8
    assert_no_number_twice()


def test_one_batch_printed_twice_at_once_gives_each_parcel_one_number(standard):
    parcels = picked_parcels(5)
    fill_pool(standard, 20)
    operators = [staff("Warehouse operator") for _index in range(3)]

    outcomes = race(*(partial(logistics.print_labels, parcels, actor=operator) for operator in operators))

    printed, failed = split(outcomes, logistics.Printed)
    assert failed == []
    assert sum(len(result.given) for result in printed) == 5
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 5
    assert set(Shipment.objects.filter(pk__in=parcels).values_list("label_prints", flat=True)) == {3}
    assert_no_number_twice()


def test_a_print_racing_a_switch_to_another_carrier_leaves_no_number_on_the_wrong_carrier(standard):
    parcels = picked_parcels(3)
    fill_pool(standard, 10)
    zto = CarrierServiceFactory(
        carrier=CarrierFactory(code="zto", name="ZTO Express"), code="standard", supports_cod=True
    )
    orders = list(Shipment.objects.filter(pk__in=parcels).values_list("order_id", flat=True))

    printed, switched = race(
        partial(logistics.print_labels, parcels, actor=staff("Warehouse operator")),
        partial(logistics.choose_carrier_service, orders, zto.pk, actor=staff("Logistics coordinator")),
    )

    assert isinstance(printed, logistics.Printed) and len(switched.done) == 3
    assert set(Shipment.objects.filter(pk__in=parcels).values_list("carrier_id", "tracking_number")) == {
        (zto.carrier_id, "")
    }
    # Printed first: its numbers were burnt by the switch; switched first: none was given.
    assert PooledTrackingNumber.objects.filter(burnt_at=None).exclude(shipment=None).count() == 0
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() in (0, 3)
    assert_no_number_twice()
