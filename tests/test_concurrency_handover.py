"""The handover station raced between real PostgreSQL connections (see tests/test_concurrency.py for
`race`): one parcel scanned into two batches at once lands in one, and a batch confirmed twice at
once is dispatched once, its stock leaving the books once."""

from functools import partial

import pytest
from django.core.exceptions import ValidationError

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory.models import StockMovement
from logistics import services as logistics
from logistics.models import HandoverBatch, HandoverParcel, Shipment
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import assert_stock_consistent, fresh, quantities, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def level():
    return stock(ProductFactory(), WarehouseFactory(), 10)


def packed_parcel(level, carrier, number):
    order = advance(place_apart(lines=[(level.product, 2)]), "packed")
    return logistics.assign_tracking_number(order.shipments.get().pk, carrier.pk, number, actor=SYSTEM)


def test_one_parcel_scanned_into_two_batches_at_once_lands_in_one(level):
    carrier = CarrierFactory()
    parcel = packed_parcel(level, carrier, "SF1000000000001")
    operators = [staff("Warehouse operator") for _index in range(2)]
    batches = [logistics.open_handover_batch(carrier.pk, actor=operator) for operator in operators]

    outcomes = race(
        *(
            partial(logistics.scan_into_batch, batch.pk, "SF1000000000001", actor=operator)
            for batch, operator in zip(batches, operators, strict=True)
        )
    )

    scanned, refused = split(outcomes, HandoverParcel)
    assert len(scanned) == 1 and len(refused) == 1
    assert isinstance(refused[0], ValidationError)
    assert f"(order {parcel.order.number})" in " ".join(refused[0].messages)
    assert HandoverParcel.objects.get().batch_id == scanned[0].batch_id


def test_a_batch_confirmed_twice_at_once_is_dispatched_once(level):
    carrier = CarrierFactory()
    parcels = [packed_parcel(level, carrier, number) for number in ("SF1000000000001", "SF1000000000002")]
    operator, coordinator = staff("Warehouse operator"), staff("Logistics coordinator")
    batch = logistics.open_handover_batch(carrier.pk, actor=operator)
    for parcel in parcels:
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)

    outcomes = race(
        partial(logistics.confirm_batch, batch.pk, actor=operator),
        partial(logistics.confirm_batch, batch.pk, actor=coordinator),
    )

    confirmed, refused = split(outcomes, list)
    assert len(confirmed) == 1 and len(refused) == 1
    assert isinstance(refused[0], TransitionRefused) and "was dispatched at" in str(refused[0])
    assert Shipment.objects.filter(status=Shipment.Status.SHIPPED).count() == 2
    for parcel in parcels:
        assert fresh(parcel.order).events.filter(to_status=Order.Status.SHIPPED).count() == 1
    assert quantities(level) == (6, 0)
    assert StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.SHIPMENT).count() == 2
    assert_stock_consistent()


def test_a_scan_racing_the_confirmation_of_its_batch_is_dispatched_with_it_or_refused(level):
    carrier = CarrierFactory()
    first = packed_parcel(level, carrier, "SF1000000000001")
    late = packed_parcel(level, carrier, "SF1000000000002")
    operator = staff("Warehouse operator")
    batch = logistics.open_handover_batch(carrier.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, first.tracking_number, actor=operator)

    confirmed, scanned = race(
        partial(logistics.confirm_batch, batch.pk, actor=operator),
        partial(logistics.scan_into_batch, batch.pk, late.tracking_number, actor=operator),
    )

    late.refresh_from_db()
    if isinstance(scanned, HandoverParcel):
        assert [shipment.pk for shipment in confirmed] == [first.pk, late.pk]
        assert late.status == Shipment.Status.SHIPPED
    else:
        assert isinstance(scanned, TransitionRefused) and len(confirmed) == 1
        assert late.status == Shipment.Status.PACKED and not HandoverParcel.objects.filter(shipment=late).exists()
    assert_stock_consistent()


def test_a_discard_racing_a_scan_into_its_batch_leaves_the_parcel_free_or_the_scan_refused(level):
    carrier = CarrierFactory()
    first = packed_parcel(level, carrier, "SF1000000000001")
    late = packed_parcel(level, carrier, "SF1000000000002")
    operator = staff("Warehouse operator")
    batch = logistics.open_handover_batch(carrier.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, first.tracking_number, actor=operator)

    discarded, scanned = race(
        partial(logistics.discard_batch, batch.pk, actor=operator),
        partial(logistics.scan_into_batch, batch.pk, late.tracking_number, actor=operator),
    )

    # Whichever came first, the batch is gone with every scan it took, and both parcels are free.
    if isinstance(scanned, HandoverParcel):
        assert [shipment.pk for shipment in discarded] == [first.pk, late.pk]
    else:
        assert isinstance(scanned, ValidationError)
        assert scanned.messages == [f"There is no handover batch {batch.pk}."]
        assert [shipment.pk for shipment in discarded] == [first.pk]
    assert not HandoverBatch.objects.exists() and not HandoverParcel.objects.exists()
    other = logistics.open_handover_batch(carrier.pk, actor=operator)
    for parcel in (first, late):
        assert logistics.scan_into_batch(other.pk, parcel.tracking_number, actor=operator).batch == other


def test_a_discard_racing_the_confirmation_of_its_batch_lets_one_of_them_through(level):
    carrier = CarrierFactory()
    parcel = packed_parcel(level, carrier, "SF1000000000001")
    operator = staff("Warehouse operator")
    batch = logistics.open_handover_batch(carrier.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)

    discarded, confirmed = race(
        partial(logistics.discard_batch, batch.pk, actor=operator),
        partial(logistics.confirm_batch, batch.pk, actor=operator),
    )

    parcel.refresh_from_db()
    if isinstance(confirmed, list):
        assert isinstance(discarded, TransitionRefused) and "was dispatched at" in str(discarded)
        assert parcel.status == Shipment.Status.SHIPPED and HandoverBatch.objects.get().dispatched_at
        assert quantities(level) == (8, 0)
    else:
        assert isinstance(confirmed, ValidationError)
        assert confirmed.messages == [f"There is no handover batch {batch.pk}."]
        assert [shipment.pk for shipment in discarded] == [parcel.pk]
        assert parcel.status == Shipment.Status.PACKED and not HandoverBatch.objects.exists()
        assert quantities(level) == (10, 2)
    assert_stock_consistent()
