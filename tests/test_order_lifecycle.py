"""The order cycle after intake: every step through the services, each recorded with its actor;
every refused step changes nothing; cancelling gives stock and money back."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import PickWave, Shipment, ShipmentLine
from orders import services as orders
from orders.models import Allocation, Order, OrderEvent, OrderNote, Payment, Refund
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    dispatch_all,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db

Status = Order.Status


@pytest.fixture
def manager():
    return staff("Manager")


@pytest.fixture
def product():
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, WarehouseFactory(), 10)
    return item


def level_of(product):
    return StockLevel.objects.get(product=product)


def fresh(order):
    return Order.objects.get(pk=order.pk)


def assert_ledger_whole():
    assert list(ledger_mismatches()) == []


def snapshot(order):
    """Everything a refused step must leave as it was."""
    order = fresh(order)
    return {
        "order": (order.status, order.payment_status, order.amount_paid, order.refund_due, order.updated_at),
        "events": list(OrderEvent.objects.filter(order=order).values_list("pk", flat=True)),
        "allocations": list(Allocation.objects.filter(line__order=order).values_list("pk", "state", "quantity")),
        "stock": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "movements": StockMovement.objects.count(),
        "pick_lists": PickWave.objects.count(),
        "shipments": list(Shipment.objects.order_by("pk").values_list("pk", "status", "carrier", "tracking_number")),
        "packed": list(ShipmentLine.objects.order_by("pk").values_list("pk", "packed_quantity")),
        "payments": Payment.objects.count(),
    }


# --- the whole cycle ---------------------------------------------------------------------------


def test_an_order_goes_from_confirmed_to_completed_recording_every_step(manager, product):
    order = place(lines=[(product, 3)], actor=manager)
    carrier = CarrierFactory()

    wave = logistics.create_pick_wave(level_of(product).warehouse_id, [order.pk], actor=manager)
    shipment = wave.shipments.get()
    for _unit in range(3):
        logistics.pack_item(shipment.pk, product.barcode, actor=manager)
    logistics.finish_packing(shipment.pk, weight_kg="1.5", package_count=1, actor=manager)
    shipment = logistics.dispatch(shipment.pk, carrier_id=carrier.pk, tracking_number="SF5550000000037", actor=manager)
    assert fresh(order).status == Status.SHIPPED
    logistics.mark_delivered(shipment.pk, actor=manager)
    orders.complete(order.pk, actor=manager)

    order = fresh(order)
    assert order.status == Status.COMPLETED
    events = list(order.events.values_list("from_status", "to_status", "actor"))
    assert events == [
        (Status.PENDING, Status.CONFIRMED, manager.pk),
        (Status.CONFIRMED, Status.PICKING, manager.pk),
        (Status.PICKING, Status.PACKED, manager.pk),
        (Status.PACKED, Status.SHIPPED, manager.pk),
        (Status.SHIPPED, Status.DELIVERED, manager.pk),
        (Status.DELIVERED, Status.COMPLETED, manager.pk),
    ]
    stamps = [
        order.confirmed_at,
        order.picking_at,
        order.packed_at,
        order.shipped_at,
        order.delivered_at,
        order.completed_at,
    ]
    assert all(stamps)
    assert stamps == sorted(stamps)
    assert order.cancelled_at is None
    assert "SF5550000000037" in order.events.get(to_status=Status.SHIPPED).reason


def test_dispatch_takes_the_goods_off_the_books_and_records_the_shipment(manager, product):
    order = advance(place(lines=[(product, 3)]), "packed", actor=manager)
    carrier = CarrierFactory()
    level = level_of(product)

    shipment = logistics.dispatch(
        order.shipments.get().pk, carrier_id=carrier.pk, tracking_number=" SF5550000000043 ", actor=manager
    )

    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (7, 0)
    assert (shipment.order, shipment.tracking_number, shipment.dispatched_by) == (order, "SF5550000000043", manager)
    assert shipment.tracking_url.endswith("SF5550000000043")
    assert set(Allocation.objects.filter(line__order=order).values_list("state", flat=True)) == {"shipped"}
    assert_ledger_whole()


def split_order(manager):
    """An order whose two lines sit in two different warehouses, packed."""
    near, far = WarehouseFactory(code="NEAR", priority=1), WarehouseFactory(code="FAR", priority=2)
    shirt, socks = ProductFactory(), ProductFactory()
    stock(shirt, near, 5)
    stock(socks, far, 5)
    order = advance(place(lines=[(shirt, 1), (socks, 2)]), "packed", actor=manager)
    return order, near, far


def test_a_split_order_is_partially_shipped_after_the_first_warehouse_and_shipped_after_the_second(manager):
    order, near, far = split_order(manager)
    carrier = CarrierFactory()

    first = logistics.dispatch(
        order.shipments.get(warehouse=far).pk, carrier_id=carrier.pk, tracking_number="SF5550000000001", actor=manager
    )
    assert fresh(order).status == Status.PARTIALLY_SHIPPED
    shipped_at = fresh(order).shipped_at
    second = logistics.dispatch(
        order.shipments.get(warehouse=near).pk, carrier_id=carrier.pk, tracking_number="SF5550000000003", actor=manager
    )

    order = fresh(order)
    assert order.status == Status.SHIPPED
    assert order.shipped_at == shipped_at
    assert (first.warehouse, second.warehouse) == (far, near)
    assert list(order.events.values_list("to_status", flat=True))[-2:] == [Status.PARTIALLY_SHIPPED, Status.SHIPPED]
    assert not StockLevel.objects.filter(reserved__gt=0).exists()
    assert_ledger_whole()


def test_a_split_order_is_delivered_only_when_every_shipment_is(manager):
    order, _near, _far = split_order(manager)
    first, second = dispatch_all(order, actor=manager)

    logistics.mark_delivered(first.pk, actor=manager)
    assert fresh(order).status == Status.SHIPPED
    logistics.mark_delivered(second.pk, actor=manager)

    assert fresh(order).status == Status.DELIVERED
    assert fresh(order).delivered_at is not None


@pytest.mark.parametrize("step", ["on_hold", "confirmed", "picking", "packed"])
def test_an_order_can_be_cancelled_at_every_step_before_shipping(manager, product, step):
    if step == "on_hold":
        order = place(lines=[(product, 2)], city="", district="")
    else:
        order = place(lines=[(product, 2)])
        if step != "confirmed":
            order = advance(order, step, actor=manager)
    assert order.status == step

    orders.cancel(order.pk, actor=manager, reason="customer changed mind")

    assert fresh(order).status == Status.CANCELLED
    assert level_of(product).reserved == 0
    assert_ledger_whole()


# --- refused steps -----------------------------------------------------------------------------


def held(product):
    return place(lines=[(product, 1)], city="", district="")


def confirmed(product):
    return place(lines=[(product, 1)])


def reach(status):
    def make(product, manager):
        order = confirmed(product)
        return order if status == "confirmed" else advance(order, status, actor=manager)

    make.__name__ = f"{status}_order"
    return make


def held_order(product, _manager):
    return held(product)


def cancelled_order(product, manager):
    order = confirmed(product)
    orders.cancel(order.pk, actor=manager, reason="duplicate")
    return fresh(order)


STEPS = {
    "complete": lambda order, manager: orders.complete(order.pk, actor=manager),
    "cancel": lambda order, manager: orders.cancel(order.pk, actor=manager, reason="too late"),
    "approve": lambda order, manager: orders.approve(order.pk, actor=manager),
    "reject": lambda order, manager: orders.reject(order.pk, actor=manager, reason="looks fake"),
}


@pytest.mark.parametrize(
    ("make", "step"),
    [
        (held_order, "complete"),
        (reach("confirmed"), "approve"),
        (reach("confirmed"), "reject"),
        (reach("confirmed"), "complete"),
        (reach("packed"), "approve"),
        (reach("packed"), "complete"),
        (reach("shipped"), "complete"),
        (reach("shipped"), "cancel"),
        (reach("delivered"), "cancel"),
        (reach("completed"), "cancel"),
        (reach("completed"), "complete"),
        (cancelled_order, "cancel"),
        (cancelled_order, "approve"),
    ],
    ids=lambda value: value if isinstance(value, str) else getattr(value, "__name__", ""),
)
def test_a_step_the_order_state_does_not_allow_is_refused_naming_the_order_and_changes_nothing(
    manager, product, make, step
):
    order = make(product, manager)
    before = snapshot(order)

    with pytest.raises(TransitionRefused) as refused:
        STEPS[step](order, manager)

    assert order.number in str(refused.value)
    assert order.get_status_display() in str(refused.value)
    assert snapshot(order) == before
    assert_ledger_whole()


# Picking, packing and dispatch are taken per parcel: refused for the parcel's state (naming the
# parcel: by its order before it leaves, by its tracking number after), or for an order that has
# nothing to put on a pick list.


def pick(order, manager):
    logistics.create_pick_wave(StockLevel.objects.get().warehouse_id, [order.pk], actor=manager)


def pack(order, manager):
    logistics.pack_item(order.shipments.get().pk, order.lines.get().sku, actor=manager)


def dispatch_now(order, manager):
    logistics.dispatch(
        order.shipments.get().pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=manager
    )


PARCEL_STEPS = {"pick": pick, "pack": pack, "dispatch": dispatch_now}


@pytest.mark.parametrize(
    ("make", "step", "refusal"),
    [
        (held_order, "pick", ValidationError),
        (reach("picking"), "pick", ValidationError),
        (reach("delivered"), "pick", ValidationError),
        (cancelled_order, "pick", ValidationError),
        (reach("packed"), "pack", TransitionRefused),
        (reach("shipped"), "pack", TransitionRefused),
        (reach("picking"), "dispatch", TransitionRefused),
        (reach("shipped"), "dispatch", TransitionRefused),
    ],
    ids=lambda value: value if isinstance(value, str) else getattr(value, "__name__", ""),
)
def test_a_parcel_step_the_state_does_not_allow_is_refused_naming_the_order_and_changes_nothing(
    manager, product, make, step, refusal
):
    order = make(product, manager)
    before = snapshot(order)

    with pytest.raises(refusal) as refused:
        PARCEL_STEPS[step](order, manager)

    if refusal is ValidationError:
        assert order.number in " ".join(refused.value.messages)
    else:
        parcel = order.shipments.get()
        assert str(parcel) in str(refused.value) and parcel.get_status_display() in str(refused.value)
    assert snapshot(order) == before
    assert_ledger_whole()


def test_a_step_on_an_order_that_changed_since_it_was_seen_is_refused_and_changes_nothing(manager, product):
    order = place(lines=[(product, 2)])
    pick(order, manager)
    before = snapshot(order)

    with pytest.raises(TransitionRefused) as refused:
        orders.cancel(order.pk, actor=manager, reason="customer asked", expected_status=Status.CONFIRMED)

    assert order.number in str(refused.value)
    assert str(Order.Status.PICKING.label) in str(refused.value)
    assert snapshot(order) == before


def test_a_step_on_the_status_that_was_seen_goes_ahead(manager, product):
    order = place(lines=[(product, 2)])

    orders.cancel(order.pk, actor=manager, reason="customer asked", expected_status=Status.CONFIRMED)

    assert fresh(order).status == Status.CANCELLED


def test_a_pick_list_for_a_warehouse_with_nothing_of_the_order_is_refused(manager, product):
    order = confirmed(product)
    empty = WarehouseFactory()
    before = snapshot(order)

    with pytest.raises(ValidationError) as refused:
        logistics.create_pick_wave(empty.pk, [order.pk], actor=manager)

    assert order.number in " ".join(refused.value.messages)
    assert empty.code in " ".join(refused.value.messages)
    assert snapshot(order) == before


def test_a_tracking_number_is_used_once_per_carrier(manager, product):
    first = advance(confirmed(product), "shipped", actor=manager)
    second = advance(confirmed(product), "packed", actor=manager)
    used = first.shipments.get().tracking_number

    with pytest.raises(ValidationError) as refused:
        logistics.dispatch(
            second.shipments.get().pk, carrier_id=first.shipments.get().carrier_id, tracking_number=used, actor=manager
        )

    assert "tracking_number" in refused.value.message_dict
    assert fresh(second).status == Status.PACKED


def test_a_delivered_shipment_cannot_be_delivered_again(manager, product):
    order = advance(confirmed(product), "delivered", actor=manager)
    shipment = order.shipments.get()
    events = order.events.count()

    with pytest.raises(TransitionRefused):
        logistics.mark_delivered(shipment.pk, actor=manager)

    assert order.events.count() == events


# --- cancel and reject -------------------------------------------------------------------------


def test_cancel_releases_reserved_stock(manager, product):
    order = place(lines=[(product, 4)])
    assert level_of(product).available == 6

    orders.cancel(order.pk, actor=manager, reason="customer changed mind")

    order = fresh(order)
    assert order.status == Status.CANCELLED
    assert order.cancelled_at is not None
    assert level_of(product).available == 10
    assert level_of(product).reserved == 0
    assert set(Allocation.objects.filter(line__order=order).values_list("state", flat=True)) == {"released"}
    release = StockMovement.objects.get(kind=StockMovement.Kind.RELEASE)
    assert (release.reserved_change, release.reference, release.actor) == (-4, order.number, manager)
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        Status.CONFIRMED,
        Status.CANCELLED,
        manager,
        "customer changed mind",
    )
    assert_ledger_whole()


def test_released_stock_can_be_sold_again(manager):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 1)
    first = place(lines=[(product, 1)])
    assert place(lines=[(product, 1)], phone="13900000001").status == Status.ON_HOLD

    orders.cancel(first.pk, actor=manager, reason="duplicate")

    assert place(lines=[(product, 1)], phone="13900000002").status == Status.CONFIRMED
    assert_ledger_whole()


def test_cancel_of_a_paid_order_records_the_refund_owed(manager, product):
    order = place(lines=[(product, 2)], payment_method="card", paid_amount="50.00")
    assert fresh(order).payment_status == Order.PaymentStatus.PAID

    orders.cancel(order.pk, actor=manager, reason="out of delivery area")

    order = fresh(order)
    assert (order.refund_due, order.payment_status) == (Decimal("50.00"), Order.PaymentStatus.PAID)
    assert (order.amount_paid, order.amount_refunded) == (Decimal("50.00"), Decimal("0.00"))
    [refund] = order.refunds.all()
    assert (refund.amount, refund.status, refund.payment, refund.requested_by, refund.reason) == (
        Decimal("50.00"),
        Refund.Status.REQUESTED,
        order.payments.get(),
        manager,
        "Order cancelled: out of delivery area",
    )


def test_cancel_of_an_unpaid_order_owes_nothing(manager, product):
    order = place(lines=[(product, 2)])

    orders.cancel(order.pk, actor=manager, reason="duplicate")

    order = fresh(order)
    assert (order.refund_due, order.payment_status) == (Decimal("0.00"), Order.PaymentStatus.UNPAID)
    assert not order.refunds.exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_cancel_needs_a_reason(manager, product, reason):
    order = place(lines=[(product, 2)])
    before = snapshot(order)

    with pytest.raises(ValidationError) as refused:
        orders.cancel(order.pk, actor=manager, reason=reason)

    assert "reason" in refused.value.message_dict
    assert snapshot(order) == before


def test_reject_needs_a_reason(manager, product):
    order = held(product)
    before = snapshot(order)

    with pytest.raises(ValidationError) as refused:
        orders.reject(order.pk, actor=manager, reason=" ")

    assert "reason" in refused.value.message_dict
    assert snapshot(order) == before


def test_reject_cancels_a_held_order_with_its_reason(manager, product):
    order = held(product)

    orders.reject(order.pk, actor=manager, reason="fake address")

    order = fresh(order)
    assert order.status == Status.CANCELLED
    assert order.cancelled_at is not None
    event = order.events.last()
    assert (event.from_status, event.to_status, event.transition, event.actor, event.reason) == (
        Status.ON_HOLD,
        Status.CANCELLED,
        "reject",
        manager,
        "fake address",
    )
    assert level_of(product).reserved == 0


def test_reject_of_a_prepaid_held_order_records_the_refund_owed(manager, product):
    order = place(lines=[(product, 2)], payment_method="card", paid_amount="20.00")
    assert order.status == Status.ON_HOLD

    orders.reject(order.pk, actor=manager, reason="payment does not match")

    order = fresh(order)
    assert (order.refund_due, order.payment_status) == (Decimal("20.00"), Order.PaymentStatus.PARTIALLY_PAID)
    assert list(order.refunds.values_list("amount", "status", "reason")) == [
        (Decimal("20.00"), Refund.Status.REQUESTED, "Order cancelled: payment does not match"),
    ]


# --- approve -----------------------------------------------------------------------------------


def test_approve_confirms_a_held_order_and_reserves_its_stock(manager, product):
    order = held(product)

    orders.approve(order.pk, actor=manager, reason="called the customer")

    order = fresh(order)
    assert order.status == Status.CONFIRMED
    assert order.confirmed_at is not None
    assert level_of(product).reserved == 1
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        Status.ON_HOLD,
        Status.CONFIRMED,
        manager,
        "called the customer",
    )
    assert_ledger_whole()


def test_approve_of_an_order_held_for_stock_reserves_once_the_stock_arrived(manager):
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 1)
    order = place(lines=[(product, 3)])
    assert [r["code"] for r in order.hold_reasons] == ["out_of_stock"]

    inventory.receive(stock_level_id=level.pk, quantity=5, reference="PO-7", actor=SYSTEM)
    orders.approve(order.pk, actor=manager)

    assert fresh(order).status == Status.CONFIRMED
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (6, 3)
    assert Allocation.objects.get(line__order=order).quantity == 3
    assert_ledger_whole()


def test_approve_is_refused_while_stock_is_missing_and_the_order_stays_held(manager):
    product = ProductFactory()
    level = stock(product, WarehouseFactory(), 1)
    order = place(lines=[(product, 3)])
    before = snapshot(order)

    with pytest.raises(TransitionRefused) as refused:
        orders.approve(order.pk, actor=manager)

    assert f"{product.sku}: 2" in str(refused.value)
    assert snapshot(order) == before
    assert fresh(order).status == Status.ON_HOLD
    level.refresh_from_db()
    assert level.reserved == 0
    assert not Allocation.objects.exists()


# --- payments ----------------------------------------------------------------------------------


def test_record_payment_moves_the_payment_status_from_unpaid_to_paid(manager, product):
    order = place(lines=[(product, 4)])

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("40.00"), actor=manager, reference="B1")
    assert fresh(order).payment_status == Order.PaymentStatus.PARTIALLY_PAID
    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("60.00"), actor=manager, reference="B2")

    order = fresh(order)
    assert (order.payment_status, order.amount_paid, order.balance_due) == (
        Order.PaymentStatus.PAID,
        Decimal("100.00"),
        Decimal("0.00"),
    )
    assert list(order.payments.values_list("amount", "reference", "recorded_by")) == [
        (Decimal("40.00"), "B1", manager.pk),
        (Decimal("60.00"), "B2", manager.pk),
    ]


def test_record_payment_refuses_more_than_the_total(manager, product):
    order = place(lines=[(product, 4)])
    orders.record_payment(order.pk, method="card", amount=Decimal("90.00"), actor=manager)

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(order.pk, method="card", amount=Decimal("10.01"), actor=manager)

    assert "amount" in refused.value.message_dict
    order = fresh(order)
    assert (order.amount_paid, order.payments.count()) == (Decimal("90.00"), 1)


@pytest.mark.parametrize(
    ("method", "amount", "field"),
    [
        ("card", Decimal("0"), "amount"),
        ("card", Decimal("-5"), "amount"),
        ("card", 10.0, "amount"),
        ("cheque", Decimal("5"), "method"),
    ],
)
def test_record_payment_refuses_bad_input(manager, product, method, amount, field):
    order = place(lines=[(product, 4)])

    with pytest.raises(ValidationError) as refused:
        orders.record_payment(order.pk, method=method, amount=amount, actor=manager)

    assert field in refused.value.message_dict
    assert not Payment.objects.exists()


def test_record_payment_on_a_cancelled_order_is_refused(manager, product):
    order = cancelled_order(product, manager)

    with pytest.raises(ValidationError):
        orders.record_payment(order.pk, method="card", amount=Decimal("5.00"), actor=manager)

    assert not Payment.objects.exists()


# --- delivery address and notes ----------------------------------------------------------------


def test_the_delivery_address_can_be_corrected_while_the_order_is_held(manager, product):
    order = held(product)

    orders.update_delivery_address(order.pk, actor=manager, district=" 拱墅区 ", phone="139-0000-0001")

    order = fresh(order)
    assert (order.district, order.phone) == ("拱墅区", "+8613900000001")
    assert order.address_key.split("/")[2] == "拱墅区"
    note = OrderNote.objects.get(order=order)
    assert note.author == manager
    assert "拱墅区" in note.text


def test_the_delivery_address_can_be_corrected_after_confirmation(manager, product):
    order = confirmed(product)

    orders.update_delivery_address(order.pk, actor=manager, address="文一路 8 号")

    assert fresh(order).address == "文一路 8 号"


@pytest.mark.parametrize("step", ["packed", "shipped"])
def test_the_delivery_address_cannot_change_once_packed(manager, product, step):
    order = advance(confirmed(product), step, actor=manager)

    with pytest.raises(TransitionRefused) as refused:
        orders.update_delivery_address(order.pk, actor=manager, address="文一路 8 号")

    assert order.number in str(refused.value)
    assert fresh(order).address == "文三路 90 号"
    assert not OrderNote.objects.exists()


def test_the_delivery_address_refuses_an_invalid_phone_or_a_field_it_does_not_edit(manager, product):
    order = held(product)

    with pytest.raises(ValidationError):
        orders.update_delivery_address(order.pk, actor=manager, phone="12345")
    with pytest.raises(ValidationError):
        orders.update_delivery_address(order.pk, actor=manager, total="1.00")

    assert fresh(order).phone == "+8613800138000"
    assert not OrderNote.objects.exists()


def test_a_staff_note_is_kept_with_its_author(manager, product):
    order = confirmed(product)

    orders.add_note(order.pk, author=manager, text=" gift wrap please ")

    assert list(order.notes.values_list("text", "author")) == [("gift wrap please", manager.pk)]
    with pytest.raises(ValidationError):
        orders.add_note(order.pk, author=manager, text="  ")


def test_only_a_reviewer_may_change_a_delivery_address(product):
    order = place(lines=[(product, 1)])

    with pytest.raises(PermissionDenied):
        orders.update_delivery_address(order.pk, actor=staff("Warehouse operator"), city="宁波市")

    assert fresh(order).city == "杭州市"
    assert not order.notes.exists()


def test_a_user_without_the_note_permission_cannot_add_notes(product):
    order = place(lines=[(product, 1)])
    outsider = User.objects.create_user("outsider", password="pw", is_staff=True)

    with pytest.raises(PermissionDenied):
        orders.add_note(order.pk, author=outsider, text="hello")

    assert not order.notes.exists()


def test_an_address_change_note_keeps_phone_numbers_masked(manager, product):
    order = held(product)

    orders.update_delivery_address(order.pk, actor=manager, phone="13900000001")

    note = order.notes.get().text
    assert "+86 139****0001" in note
    assert "13900000001" not in note and "13800138000" not in note
