"""The packing station's service: each scan answered with the parcel's new state and the sound to
play, a quantity typed before a scan, and every refused scan kept for the packer's accuracy even
though the scan itself changed nothing."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from logistics import services as logistics
from logistics.models import PackingScanRefusal, ShipmentLine
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place, staff, stock

pytestmark = pytest.mark.django_db

Reason = PackingScanRefusal.Reason
Sound = logistics.Sound


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ", name="Hangzhou East")


@pytest.fixture
def teapot(warehouse):
    product = ProductFactory(sku="TEAPOT", barcode="6901234500017", weight_kg=Decimal("0.800"))
    stock(product, warehouse, 50)
    return product


@pytest.fixture
def cups(warehouse):
    product = ProductFactory(sku="CUP", barcode="6901234500024", weight_kg=Decimal("0.150"))
    stock(product, warehouse, 50)
    return product


@pytest.fixture
def parcel(teapot, cups):
    """One teapot and twelve cups, picked and waiting to be packed."""
    order = place(lines=[(teapot, 1), (cups, 12)])
    pick_all(order)
    return order.shipments.get()


@pytest.fixture
def packer():
    return staff("Warehouse operator", username="packer")


def packed(shipment):
    return dict(ShipmentLine.objects.filter(shipment=shipment).values_list("order_line__sku", "packed_quantity"))


def test_an_accepted_scan_answers_the_parcels_new_state_and_starts_its_packing_time(parcel, teapot, packer):
    answer = logistics.scan_item(parcel.pk, teapot.barcode, actor=packer)

    assert answer.accepted and answer.sound == Sound.ACCEPTED and not answer.complete
    assert answer.message == "TEAPOT packed: 1 of 1."
    assert answer.line.order_line.sku == "TEAPOT"
    assert {line.order_line.sku: (line.packed_quantity, line.quantity) for line in answer.lines} == {
        "TEAPOT": (1, 1),
        "CUP": (0, 12),
    }
    parcel.refresh_from_db()
    assert parcel.packing_started_at is not None
    assert not PackingScanRefusal.objects.exists()


def test_the_last_unit_completes_the_parcel_with_its_own_sound(parcel, teapot, packer):
    logistics.scan_item(parcel.pk, "12*6901234500024", actor=packer)

    answer = logistics.scan_item(parcel.pk, "teapot", actor=packer)

    assert answer.accepted and answer.complete and answer.sound == Sound.COMPLETE
    assert answer.message == "TEAPOT packed: 1 of 1. Every item is in. Weigh the parcel and close it."


def test_a_scan_after_the_last_unit_is_answered_already_complete_and_recorded(parcel, teapot, packer):
    logistics.scan_item(parcel.pk, "TEAPOT", actor=packer)
    logistics.scan_item(parcel.pk, "12xCUP", actor=packer)

    answer = logistics.scan_item(parcel.pk, "0.8", actor=packer)

    assert not answer.accepted and answer.sound == Sound.REFUSED and answer.complete
    assert answer.message == f"Order {parcel.order.number} is already complete: 0.8 is one too many. Put it aside."
    assert packed(parcel) == {"TEAPOT": 1, "CUP": 12}
    refusal = PackingScanRefusal.objects.get()
    assert (refusal.reason, refusal.code, refusal.scanned_by, refusal.order_number, refusal.shipment_id) == (
        Reason.PARCEL_COMPLETE,
        "0.8",
        packer,
        parcel.order.number,
        parcel.pk,
    )
    assert refusal.warehouse_id == parcel.warehouse_id


@pytest.mark.parametrize("typed", ["5*6901234500024", "5x6901234500024", "5X CUP", "5 × cup"])
def test_a_quantity_typed_before_the_scan_packs_that_many_identical_units(parcel, packer, typed):
    answer = logistics.scan_item(parcel.pk, typed, actor=packer)

    assert answer.accepted and answer.message == "5 × CUP packed: 5 of 12."
    assert packed(parcel) == {"TEAPOT": 0, "CUP": 5}


def test_more_units_than_missing_are_refused_whole_and_recorded(parcel, packer):
    logistics.scan_item(parcel.pk, "10*CUP", actor=packer)

    answer = logistics.scan_item(parcel.pk, "3*CUP", actor=packer)

    assert not answer.accepted
    assert answer.message == "Only 2 × CUP are still missing, not 3: count them again."
    assert packed(parcel) == {"TEAPOT": 0, "CUP": 10}
    assert PackingScanRefusal.objects.values_list("reason", "code", "quantity").get() == (Reason.TOO_MANY, "CUP", 3)


def test_a_code_that_looks_like_a_quantity_is_read_as_the_code_a_line_knows(warehouse, packer):
    card = ProductFactory(sku="3X5-CARD", barcode="")
    stock(card, warehouse, 5)
    order = place(lines=[(card, 2)])
    pick_all(order)

    answer = logistics.scan_item(order.shipments.get().pk, "3x5-card", actor=packer)

    assert answer.accepted and answer.message == "3X5-CARD packed: 1 of 2."


@pytest.mark.parametrize("typed", ["0*CUP", "1000*CUP"])
def test_a_quantity_out_of_range_is_no_scan(parcel, packer, typed):
    with pytest.raises(ValidationError, match="between 1 and 999 units"):
        logistics.scan_item(parcel.pk, typed, actor=packer)
    assert not PackingScanRefusal.objects.exists()


def test_an_item_not_in_the_parcel_and_a_complete_line_are_refused_with_their_reasons(parcel, teapot, packer):
    stranger = ProductFactory(barcode="6909999900011")
    logistics.scan_item(parcel.pk, teapot.barcode, actor=packer)

    strange = logistics.scan_item(parcel.pk, stranger.barcode, actor=packer)
    surplus = logistics.scan_item(parcel.pk, teapot.barcode, actor=packer)

    assert strange.message == f"6909999900011 is not in order {parcel.order.number}. Put it aside."
    assert surplus.message == "All 1 × TEAPOT are already packed. Put this one aside."
    assert list(PackingScanRefusal.objects.order_by("pk").values_list("reason", flat=True)) == [
        Reason.NOT_IN_ORDER,
        Reason.LINE_COMPLETE,
    ]
    assert packed(parcel) == {"TEAPOT": 1, "CUP": 0}


def test_a_closed_parcel_takes_no_more_scans(parcel, packer):
    logistics.scan_item(parcel.pk, "TEAPOT", actor=packer)
    logistics.scan_item(parcel.pk, "12*CUP", actor=packer)
    logistics.finish_packing(parcel.pk, weight_kg="2.6", package_count=1, actor=packer)

    answer = logistics.scan_item(parcel.pk, "CUP", actor=packer)

    assert not answer.accepted and "there is nothing left to pack" in answer.message
    assert PackingScanRefusal.objects.get().reason == Reason.NOT_PACKING


def test_pack_item_raises_the_refusal_it_recorded(parcel, packer):
    with pytest.raises(ValidationError, match="is not in order"):
        logistics.pack_item(parcel.pk, "NOPE", actor=packer)
    assert PackingScanRefusal.objects.get().code == "NOPE"


def test_an_empty_scan_and_a_role_that_does_not_pack_are_refused_without_a_record(parcel):
    with pytest.raises(ValidationError, match="Scan an item's barcode"):
        logistics.scan_item(parcel.pk, "   ", actor=staff("Warehouse operator"))
    with pytest.raises(Exception, match="may not pack"):
        logistics.scan_item(parcel.pk, "CUP", actor=staff("Finance"))
    assert not PackingScanRefusal.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_committed_on_its_own_although_the_scan_rolled_back(parcel, packer):
    answer = logistics.scan_item(parcel.pk, "NOPE", actor=packer)

    assert not answer.accepted
    seen = {}

    def count_from_another_connection():
        try:
            seen["refusals"] = PackingScanRefusal.objects.filter(code="NOPE").count()
            seen["packed"] = packed(parcel)
        finally:
            connections.close_all()

    reader = threading.Thread(target=count_from_another_connection)
    reader.start()
    reader.join(30)
    assert seen == {"refusals": 1, "packed": {"TEAPOT": 0, "CUP": 0}}
