"""Lost parcels raced between real PostgreSQL connections (see tests/test_concurrency.py for `race`):
a claim filed twice at once is one claim, and a parcel sent again twice at once (a double click)
is one replacement with its stock reserved once."""

from decimal import Decimal
from functools import partial

import pytest
from django.core.exceptions import ValidationError

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import StockMovement
from logistics import services as logistics
from logistics.models import CarrierClaim, ExceptionKind, ParcelReplacement, Shipment, TrackingEvent
from tests.factories import CarrierServiceFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import assert_stock_consistent, quantities, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def level():
    return stock(ProductFactory(unit_price=Decimal("25.00")), WarehouseFactory(), 10)


@pytest.fixture
def lost(level):
    CarrierServiceFactory()
    order = advance(place_apart(lines=[(level.product, 3)]), "shipped")
    parcel = order.shipments.get()
    logistics.record_tracking_event(
        parcel.pk,
        status=TrackingEvent.Status.EXCEPTION,
        exception_kind=ExceptionKind.LOST,
        occurred_at=parcel.shipped_at,
        source=TrackingEvent.Source.CONSOLE,
        actor=SYSTEM,
    )
    return parcel


def test_a_claim_filed_twice_at_once_is_one_claim(lost):
    coordinators = [staff("Logistics coordinator") for _index in range(2)]

    outcomes = race(*(partial(logistics.file_claim, lost.pk, actor=person) for person in coordinators))

    filed, refused = split(outcomes, CarrierClaim)
    assert len(filed) == 1 and len(refused) == 1
    assert isinstance(refused[0], ValidationError) and "already has claim" in " ".join(refused[0].messages)
    assert CarrierClaim.objects.get().claimed_amount == Decimal("75.00")


def test_a_parcel_sent_again_twice_at_once_is_one_replacement_with_its_stock_reserved_once(lost, level):
    coordinator = staff("Logistics coordinator")

    outcomes = race(*(partial(logistics.send_replacement, lost.pk, actor=coordinator) for _click in range(2)))

    sent, refused = split(outcomes, ParcelReplacement)
    assert len(sent) == 1 and len(refused) == 1
    assert isinstance(refused[0], ValidationError) and "already been sent again" in " ".join(refused[0].messages)
    assert Shipment.objects.filter(purpose=Shipment.Purpose.REPLACEMENT).count() == 1
    assert quantities(level) == (7, 3)
    assert StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.RESERVATION).count() == 2
    assert_stock_consistent()


def test_two_lost_parcels_sent_again_at_once_for_the_last_units_leave_one_short(level):
    CarrierServiceFactory()
    parcels = []
    for _order in range(2):
        order = advance(place_apart(lines=[(level.product, 3)]), "shipped")
        parcel = order.shipments.get()
        logistics.record_tracking_event(
            parcel.pk,
            status=TrackingEvent.Status.EXCEPTION,
            exception_kind=ExceptionKind.LOST,
            occurred_at=parcel.shipped_at,
            source=TrackingEvent.Source.CONSOLE,
            actor=SYSTEM,
        )
        parcels.append(parcel)
    coordinator = staff("Logistics coordinator")
    inventory.adjust(stock_level_id=level.pk, change=-1, reason="Damaged", actor=SYSTEM)  # 3 left

    outcomes = race(*(partial(logistics.send_replacement, parcel.pk, actor=coordinator) for parcel in parcels))

    sent, refused = split(outcomes, ParcelReplacement)
    assert len(sent) == 1 and len(refused) == 1
    assert f"{level.product.sku} × 3" in " ".join(refused[0].messages)
    assert quantities(level) == (3, 3)
    assert_stock_consistent()


# The lock order (docs/architecture.md, "Lock order"), read from the statements PostgreSQL is sent


def test_sending_again_and_dispatching_the_replacement_lock_in_the_lock_order(lost):
    from tests.test_lock_order import tables_first_locked

    coordinator = staff("Logistics coordinator")

    sending = tables_first_locked(lambda: logistics.send_replacement(lost.pk, actor=coordinator))
    parcel = ParcelReplacement.objects.get().parcel
    for line in parcel.lines.select_related("order_line"):
        logistics.pack_item(parcel.pk, f"{line.quantity}*{line.order_line.sku}", actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=SYSTEM)
    dispatching = tables_first_locked(
        lambda: logistics.dispatch(
            parcel.pk, carrier_id=lost.carrier_id, tracking_number="SF9990000000001", actor=SYSTEM
        )
    )

    assert sending == ["orders_order", "inventory_stocklevel", "logistics_shipment"]
    assert dispatching == ["orders_order", "inventory_stocklevel", "logistics_shipment"]
