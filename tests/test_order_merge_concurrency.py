"""Merging races on PostgreSQL with real connections (docs/architecture.md, "Merging orders"): a
merge against a cancellation of one of its orders, and against a pick list taking one of them.
Whichever the database serves first, one wins, the other is told clearly, and stock and ledger
agree."""

import pytest
from django.core.exceptions import ValidationError

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import PickWave, Shipment, ShipmentLine
from orders import services as orders
from orders.models import Order
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place, staff, stock
from tests.test_concurrency import assert_stock_consistent, fresh, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = Order.Status


@pytest.fixture
def setting():
    warehouse = WarehouseFactory()
    kettle, mug = ProductFactory(sku="KETTLE"), ProductFactory(sku="MUG")
    stock(kettle, warehouse, 10)
    stock(mug, warehouse, 10)
    channel = ChannelFactory()
    who = {"phone": "13912345678", "address": "解放路 8 号"}
    first = place(channel, lines=[(kettle, 1)], **who)
    second = place(channel, lines=[(mug, 2)], **who)
    assert first.status == second.status == Status.CONFIRMED
    return warehouse, first, second


def test_merging_an_order_that_is_being_cancelled(setting):
    _warehouse, first, second = setting
    reviewer, service = staff("Order reviewer"), staff("Customer service")

    merged, cancelled = race(
        lambda: orders.merge_orders([first.pk, second.pk], actor=reviewer),
        lambda: orders.cancel(second.pk, actor=service, reason="customer asked"),
    )

    assert not isinstance(cancelled, Exception), cancelled
    assert fresh(second).status == Status.CANCELLED
    # Either the merge came first and the cancellation took the order out of it (leaving the
    # other alone, so no merge), or the cancellation came first and the merge was refused.
    if isinstance(merged, Exception):
        assert isinstance(merged, ValidationError)
        assert f"Order {second.number} is Cancelled" in " ".join(merged.messages)
    assert fresh(first).merge_id is None and fresh(second).merge_id is None
    assert_stock_consistent()


def test_merging_while_a_pick_list_takes_one_of_the_orders(setting):
    warehouse, first, second = setting

    merged, wave = race(
        lambda: orders.merge_orders([first.pk, second.pk], actor=SYSTEM),
        lambda: logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM),
    )

    if isinstance(wave, PickWave):
        if isinstance(merged, Exception):
            # The pick list came first: the order is being picked and the merge says so.
            assert f"Order {first.number} is Picking" in " ".join(merged.messages)
            assert fresh(first).status == Status.PICKING and fresh(second).status == Status.CONFIRMED
            assert Shipment.objects.get().order_id == first.pk
        else:
            # The merge committed before the pick list read the orders: the group went whole.
            assert sorted(ShipmentLine.objects.values_list("order_line__order_id", flat=True)) == [first.pk, second.pk]
            assert Shipment.objects.get().merge_id == merged.pk
    else:
        # The merge committed while the pick list waited for the order: it is told to make it again.
        assert isinstance(wave, ValidationError), wave
        assert "merged or unmerged just now" in " ".join(wave.messages)
        assert not Shipment.objects.exists()
        assert fresh(first).merge_id == fresh(second).merge_id == merged.pk
        assert fresh(first).status == Status.CONFIRMED
    assert_stock_consistent()


def test_unmerging_while_a_pick_list_takes_the_group(setting):
    warehouse, first, second = setting
    merge = orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    unmerged, wave = race(
        lambda: orders.unmerge_orders(merge.pk, actor=SYSTEM),
        lambda: logistics.create_pick_wave(warehouse.pk, [second.pk], actor=SYSTEM),
    )

    parcels = list(Shipment.objects.all())
    if isinstance(unmerged, Exception):
        # The pick list came first and took the group into one parcel.
        assert isinstance(wave, PickWave), wave
        assert "only before picking" in " ".join(unmerged.messages)
        assert len(parcels) == 1 and parcels[0].merge_id == merge.pk
        assert ShipmentLine.objects.count() == 2
    elif isinstance(wave, PickWave):
        # Unmerged before the pick list read the orders: it took only the order it was given.
        assert [p.order_id for p in parcels] == [second.pk]
        assert fresh(first).status == Status.CONFIRMED
    else:
        assert "merged or unmerged just now" in " ".join(wave.messages)
        assert parcels == []
    assert fresh(first).merge_id is None or isinstance(unmerged, Exception)
    assert_stock_consistent()


def test_cancelling_a_merged_order_while_a_pick_list_takes_the_group(setting):
    warehouse, first, second = setting
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    wave, cancelled = race(
        lambda: logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM),
        lambda: orders.cancel(second.pk, actor=staff("Customer service"), reason="customer asked"),
    )

    assert not isinstance(cancelled, Exception), cancelled
    assert fresh(second).status == Status.CANCELLED and fresh(second).merge_id is None
    # Whichever came first, the cancelled order's goods are in no parcel that may still leave.
    assert not ShipmentLine.objects.filter(order_line__order=second, shipment__status__in=Shipment.OPEN).exists()
    if isinstance(wave, PickWave):
        (parcel,) = Shipment.objects.all()
        assert parcel.order_id == first.pk and parcel.status == Shipment.Status.PENDING
        assert fresh(first).status == Status.PICKING
    else:
        assert "merged or unmerged just now" in " ".join(wave.messages)
        assert fresh(first).status == Status.CONFIRMED
    assert_stock_consistent()
