"""How an inspected return is resolved: a refund requested against the order's payments, an
exchange that places a linked replacement order reserving stock like any order, or a repair that
sends the goods back in a parcel of their own, which moves neither stock nor the order."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftersales import services
from aftersales.models import Outcome, ReturnRequest
from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import locks as inventory_locks
from inventory import services as inventory
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import CarrierService, Shipment
from orders import services as orders
from orders.models import Allocation, Order, OrderEvent, Refund
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    staff,
    stock,
    tracking_number,
)
from tests.test_returns import ask, delivered_order, take_to

pytestmark = pytest.mark.django_db

Status = ReturnRequest.Status


@pytest.fixture
def cs():
    return staff("Customer service")


@pytest.fixture
def product():
    return ProductFactory(sku="SHOE-40", unit_price=Decimal("300.00"))


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="MAIN")


def inspected(order, *items, wanted, warehouse, results=None):
    case = ask(order, *items, actor=staff("Customer service"), wanted=wanted)
    return take_to(case, Status.INSPECTED, warehouse=warehouse, results=results)


def resolve(case, outcome, **options):
    return services.resolve_return(case.pk, outcome=outcome, actor=staff("Customer service"), **options)


# Refunds


@pytest.fixture
def paid_order(product, warehouse):
    """Two pairs at 300 with 20 shipping, paid by card: 620 captured."""
    return delivered_order(
        (product, 2), warehouse=warehouse, payment_method="card", shipping_fee="20.00", paid_amount="620.00"
    )


def test_a_refund_resolution_requests_the_price_of_the_units_received_from_the_payments(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 2), wanted=Outcome.REFUND, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND)

    refund = Refund.objects.get()
    assert (refund.order, refund.payment, refund.amount) == (paid_order, paid_order.payments.get(), Decimal("600.00"))
    assert (refund.status, refund.reason) == (Refund.Status.REQUESTED, f"Return {case.number}")
    assert list(case.refunds.all()) == [refund]
    assert (case.status, case.resolution, case.refund_amount, case.refund_includes_shipping) == (
        Status.RESOLVED,
        Outcome.REFUND,
        Decimal("600.00"),
        False,
    )
    paid_order.refresh_from_db()
    assert paid_order.refund_due == Decimal("600.00")


def test_a_refund_return_closes_only_once_finance_has_paid_or_failed_its_refund(paid_order, product, warehouse):
    case = resolve(inspected(paid_order, (product, 2), wanted=Outcome.REFUND, warehouse=warehouse), Outcome.REFUND)
    refund = case.refunds.get()
    finance, cs = staff("Finance"), staff("Customer service")
    orders.approve_refund(refund.pk, actor=finance)

    with pytest.raises(TransitionRefused) as waiting:
        services.close_return(case.pk, actor=cs)
    assert str(waiting.value) == (
        f"Return {case.number} waits for Finance: 600.00 CNY of its refund is not paid yet. "
        "Close it once its refunds are paid or have failed."
    )
    assert ReturnRequest.objects.get(pk=case.pk).status == Status.RESOLVED

    orders.mark_refund_paid(refund.pk, actor=finance, reference="BANK-7")
    assert services.close_return(case.pk, actor=cs).status == Status.CLOSED


def test_a_refund_may_include_the_shipping_fee(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 2), wanted=Outcome.REFUND, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND, include_shipping=True)

    assert (case.refund_amount, case.refund_includes_shipping) == (Decimal("620.00"), True)
    assert Refund.objects.get().amount == Decimal("620.00")


def test_a_partial_refund_of_any_amount_up_to_what_was_captured(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND, refund_amount=Decimal("120.50"))

    assert Refund.objects.get().amount == Decimal("120.50") == case.refund_amount


def test_a_refund_beyond_what_was_captured_is_refused_and_the_return_stays_inspected(paid_order, product, warehouse):
    finance = staff("Finance")
    [goodwill] = orders.request_refund(paid_order.pk, amount=Decimal("400.00"), reason="Late delivery", actor=finance)
    orders.approve_refund(goodwill.pk, actor=finance)
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.REFUND)

    assert "At most 220.00" in " ".join(refused.value.message_dict["refund_amount"])
    assert list(Refund.objects.all()) == [goodwill]
    assert ReturnRequest.objects.get().status == Status.INSPECTED


def test_a_refund_beyond_what_the_units_received_cost_is_refused(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as too_much:
        resolve(case, Outcome.REFUND, refund_amount=Decimal("300.01"))
    with pytest.raises(ValidationError) as too_much_with_shipping:
        resolve(case, Outcome.REFUND, refund_amount=Decimal("320.01"), include_shipping=True)

    assert " ".join(too_much.value.message_dict["refund_amount"]) == (
        f"At most 300.00 CNY can be refunded for return {case.number}, what was paid for the units received; "
        "300.01 is more."
    )
    assert "At most 320.00 CNY" in " ".join(too_much_with_shipping.value.message_dict["refund_amount"])
    assert not Refund.objects.exists()
    assert resolve(case, Outcome.REFUND, refund_amount=Decimal("320.00"), include_shipping=True).refund_amount == (
        Decimal("320.00")
    )


@pytest.mark.parametrize(
    ("returned", "include_shipping", "expected"),
    [
        (1, False, "250.00"),
        (1, True, "270.00"),
        (2, True, "520.00"),
    ],
)
def test_a_refund_of_a_discounted_order_is_what_was_paid_for_the_units(
    product, warehouse, returned, include_shipping, expected
):
    """Two pairs at 300 with 20 shipping and 100 off: 520 paid, 250 a pair."""
    order = delivered_order(
        (product, 2),
        warehouse=warehouse,
        payment_method="card",
        shipping_fee="20.00",
        discount="100.00",
        paid_amount="520.00",
    )
    case = inspected(order, (product, returned), wanted=Outcome.REFUND, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND, include_shipping=include_shipping)

    assert case.refund_amount == Refund.objects.get().amount == Decimal(expected)


def test_a_discount_beyond_the_goods_comes_off_the_shipping(product, warehouse):
    order = delivered_order(
        (product, 1),
        warehouse=warehouse,
        payment_method="card",
        shipping_fee="20.00",
        discount="310.00",
        paid_amount="10.00",
    )
    case = inspected(order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    assert services.refund_value(case) == services.returns.RefundValue(goods=Decimal("0.00"), shipping=Decimal("10.00"))
    with pytest.raises(ValidationError) as nothing_paid:
        resolve(case, Outcome.REFUND)
    assert "Nothing was paid for the units received" in " ".join(nothing_paid.value.message_dict["outcome"])
    assert resolve(case, Outcome.REFUND, include_shipping=True).refund_amount == Decimal("10.00")


def test_the_shipping_fee_is_refunded_with_one_return_only(paid_order, product, warehouse):
    first = resolve(
        inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse),
        Outcome.REFUND,
        include_shipping=True,
    )
    second = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as refused:
        resolve(second, Outcome.REFUND, include_shipping=True)

    assert refused.value.message_dict["include_shipping"] == [
        f"The shipping fee of order {paid_order.number} was refunded with return {first.number} already."
    ]
    assert resolve(second, Outcome.REFUND).refund_amount == Decimal("300.00")
    assert sum(refund.amount for refund in Refund.objects.all()) == Decimal("620.00")


@pytest.mark.parametrize("amount", ["0", "-5", "12.345", "lots", "1e40", "NaN"])
def test_a_refund_amount_must_be_positive_money(paid_order, product, warehouse, amount):
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.REFUND, refund_amount=amount)

    assert "refund_amount" in refused.value.message_dict


def test_finance_approves_the_refund_a_return_requested(paid_order, product, warehouse):
    case = resolve(inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse), Outcome.REFUND)

    orders.approve_refund(case.refunds.get().pk, actor=staff("Finance"))

    assert case.refunds.get().status == Refund.Status.APPROVED


# Exchanges


def test_an_exchange_places_a_linked_free_replacement_order_that_reserves_stock(product, warehouse):
    original = delivered_order(
        (product, 2),
        warehouse=warehouse,
        payment_method="card",
        paid_amount="600.00",
        special_instructions="Leave at the door",
    )
    stock(product, warehouse, 5)
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    case = inspected(original, (product, 2), wanted=Outcome.EXCHANGE, warehouse=warehouse)
    before = StockLevel.objects.get(pk=level.pk)

    case = resolve(case, Outcome.EXCHANGE)

    replacement = case.replacement_order
    assert replacement.status == Order.Status.CONFIRMED
    assert (replacement.channel, replacement.channel_order_id) == (original.channel, f"{case.number}-EXCHANGE")
    assert (replacement.customer, replacement.phone, replacement.address) == (
        original.customer,
        original.phone,
        original.address,
    )
    assert (replacement.total, replacement.shipping_fee, replacement.amount_paid) == (0, 0, 0)
    assert replacement.payment_method == "card"
    assert replacement.special_instructions == f"Replacement for {original.number} (return {case.number})"
    assert list(replacement.lines.values_list("sku", "quantity", "unit_price")) == [("SHOE-40", 2, Decimal("0.00"))]
    allocation = Allocation.objects.get(line__order=replacement)
    assert (allocation.state, allocation.quantity) == (Allocation.State.RESERVED, 2)
    level.refresh_from_db()
    assert level.reserved == before.reserved + 2
    assert list(ledger_mismatches()) == []
    assert (case.status, case.resolution) == (Status.RESOLVED, Outcome.EXCHANGE)
    assert not Refund.objects.exists()


def test_an_exchange_for_another_size_sends_that_sku_instead(product, warehouse):
    bigger = ProductFactory(sku="SHOE-41", unit_price=Decimal("300.00"))
    stock(bigger, warehouse, 3)
    case = inspected(
        delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE, warehouse=warehouse
    )

    case = resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "SHOE-41"})

    assert list(case.replacement_order.lines.values_list("sku", "quantity")) == [("SHOE-41", 1)]
    assert StockLevel.objects.get(product=bigger, warehouse=warehouse).reserved == 1


def test_an_exchange_short_of_stock_is_placed_but_held_with_its_reason(product, warehouse):
    bigger = ProductFactory(sku="SHOE-42")
    case = inspected(
        delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE, warehouse=warehouse
    )

    case = resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "SHOE-42"})

    assert case.replacement_order.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in case.replacement_order.hold_reasons] == ["out_of_stock"]
    assert not StockLevel.objects.filter(product=bigger).exists()


def test_an_exchange_for_an_unknown_sku_is_refused_on_its_line_and_nothing_is_placed(product, warehouse):
    case = inspected(
        delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE, warehouse=warehouse
    )
    orders_before = Order.objects.count()

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "NOPE"})

    assert refused.value.message_dict == {
        "lines[0].exchange_sku": ["Unknown SKU “NOPE”: it is neither a product nor a code of channel Web shop."]
    }
    assert Order.objects.count() == orders_before
    assert ReturnRequest.objects.get().status == Status.INSPECTED


def test_an_exchange_sends_only_the_units_received(product, warehouse):
    order = delivered_order((product, 3), warehouse=warehouse)
    case = ask(order, (product, 3), actor=staff("Customer service"), wanted=Outcome.EXCHANGE)
    case = take_to(case, Status.INSPECTED, warehouse=warehouse, received={case.lines.get().pk: 2})
    stock(product, warehouse, 5)

    case = resolve(case, Outcome.EXCHANGE)

    assert case.replacement_order.lines.get().quantity == 2


# Repairs


@pytest.fixture
def repair(product, warehouse):
    """Completed order, one pair sent in for repair and inspected at a returns warehouse."""
    order = delivered_order((product, 1), warehouse=warehouse)
    orders.complete(order.pk, actor=SYSTEM)
    returns = WarehouseFactory(code="REPAIRS")
    case = ask(order, (product, 1), actor=staff("Customer service"), wanted=Outcome.REPAIR)
    return take_to(case, Status.INSPECTED, warehouse=returns, results={case.lines.get().pk: (0, 1, "Sole loose")})


def test_a_repair_creates_a_repair_parcel_at_the_receiving_warehouse(repair):
    case = resolve(repair, Outcome.REPAIR)

    parcel = case.repair_shipment
    assert (parcel.purpose, parcel.status, parcel.order, parcel.warehouse) == (
        Shipment.Purpose.REPAIR,
        Shipment.Status.PENDING,
        repair.order,
        repair.warehouse,
    )
    assert list(parcel.lines.values_list("order_line__sku", "quantity", "packed_quantity")) == [("SHOE-40", 1, 0)]
    assert (case.status, case.resolution) == (Status.RESOLVED, Outcome.REPAIR)


def test_a_repair_parcel_is_packed_dispatched_and_delivered_without_moving_stock_or_the_order(repair):
    parcel = resolve(repair, Outcome.REPAIR).repair_shipment
    operator = staff("Warehouse operator")
    movements, order_events = StockMovement.objects.count(), OrderEvent.objects.count()

    logistics.pack_item(parcel.pk, "SHOE-40", actor=operator)
    logistics.finish_packing(parcel.pk, weight_kg="0.8", package_count=1, actor=operator)
    logistics.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=operator)
    logistics.mark_delivered(parcel.pk, actor=operator)

    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.DELIVERED
    assert (StockMovement.objects.count(), OrderEvent.objects.count()) == (movements, order_events)
    order = Order.objects.get(pk=repair.order_id)
    assert order.status == Order.Status.COMPLETED
    assert list(ledger_mismatches()) == []


def test_a_repair_parcel_of_a_delivered_order_leaves_the_order_delivered(product, warehouse):
    case = inspected(
        delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.REPAIR, warehouse=warehouse
    )
    parcel = resolve(case, Outcome.REPAIR).repair_shipment
    operator = staff("Warehouse operator")

    logistics.pack_item(parcel.pk, "SHOE-40", actor=operator)
    logistics.finish_packing(parcel.pk, weight_kg="0.8", package_count=1, actor=operator)
    logistics.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=operator)

    assert Order.objects.get(pk=case.order_id).status == Order.Status.DELIVERED


def test_a_repair_parcel_collects_no_cash_and_keeps_no_express_promise_of_the_order(product, warehouse):
    """The order was cash on delivery, express: that was its first delivery, paid for at the door."""
    sf, ems = CarrierFactory(code="sf", name="SF Express"), CarrierFactory(code="ems", name="EMS")
    standard = CarrierServiceFactory(carrier=sf, code="standard", base_fee=Decimal("8"))
    CarrierServiceFactory(
        carrier=ems,
        code="express",
        kind=CarrierService.Kind.EXPRESS,
        supports_cod=True,
        base_fee=Decimal("15"),
        transit_days=1,
    )
    order = delivered_order((product, 1), warehouse=warehouse, payment_method="cod", express_requested=True)
    case = inspected(order, (product, 1), wanted=Outcome.REPAIR, warehouse=warehouse)

    parcel = resolve(case, Outcome.REPAIR).repair_shipment

    assert (parcel.service, parcel.service_reason) == (standard, Shipment.ServiceReason.CHEAPEST)
    moved = logistics.choose_carrier(parcel.pk, standard.pk, actor=staff("Logistics coordinator"))
    assert moved.service_reason == Shipment.ServiceReason.CHOSEN_BY_STAFF


@pytest.mark.parametrize("goods_stock_first", [True, False])
def test_a_repair_replaced_instead_locks_its_stock_in_key_order(repair, product, monkeypatch, goods_stock_first):
    """The goods (booked in at the repair warehouse) and another size (reserved elsewhere), whichever
    stock row has the lower key: no row is locked after one with a higher key."""
    bigger = ProductFactory(sku="SHOE-41")
    if goods_stock_first:
        level_of_goods = inventory.stock_level_for(product, repair.warehouse)
    level_of_bigger = stock(bigger, WarehouseFactory(), 2)
    if not goods_stock_first:
        level_of_goods = inventory.stock_level_for(product, repair.warehouse)
    locked_in_turn = []
    lock = inventory_locks.lock_in_key_order

    def recording(levels):
        locked = lock(levels)
        locked_in_turn.append([pk for pk in locked if not any(pk in earlier for earlier in locked_in_turn)])
        return locked

    monkeypatch.setattr(inventory_locks, "lock_in_key_order", recording)

    resolve(repair, Outcome.EXCHANGE, exchange_skus={repair.lines.get().pk: "SHOE-41"})

    first_locks = [pk for batch in locked_in_turn for pk in batch]
    assert first_locks == sorted(first_locks)
    assert set(first_locks) >= {level_of_goods.pk, level_of_bigger.pk}


def test_goods_taken_into_stock_at_inspection_cannot_be_resolved_by_a_repair(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.REPAIR)

    assert "went into stock at inspection" in " ".join(refused.value.message_dict["outcome"])
    assert not Shipment.objects.filter(purpose=Shipment.Purpose.REPAIR).exists()


def test_goods_that_cannot_be_repaired_are_booked_into_stock_when_replaced_instead(repair, product):
    stock(product, WarehouseFactory(), 2)

    case = resolve(repair, Outcome.EXCHANGE)

    level = StockLevel.objects.get(product=product, warehouse=repair.warehouse)
    assert (level.on_hand, level.quarantined) == (0, 1)
    assert level.movements.get().reference == case.number
    assert case.replacement_order.status == Order.Status.CONFIRMED
    assert not Shipment.objects.filter(purpose=Shipment.Purpose.REPAIR).exists()


def test_a_repair_request_refunded_instead_books_the_goods_and_requests_the_refund(product, warehouse):
    order = delivered_order((product, 1), warehouse=warehouse, payment_method="card", paid_amount="300.00")
    case = inspected(order, (product, 1), wanted=Outcome.REPAIR, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND)

    assert Refund.objects.get().amount == Decimal("300.00")
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 1


def test_a_repair_parcel_needs_goods_of_the_order_that_reached_the_customer(product, warehouse):
    order = delivered_order((product, 1), warehouse=warehouse)
    other = delivered_order((ProductFactory(), 1), warehouse=warehouse)

    with pytest.raises(ValidationError):
        logistics.create_repair_shipment(order.pk, warehouse.pk, [(other.lines.get().pk, 1)], actor=SYSTEM)
    with pytest.raises(ValidationError):
        logistics.create_repair_shipment(order.pk, warehouse.pk, [(order.lines.get().pk, 2)], actor=SYSTEM)
    with pytest.raises(ValidationError):
        logistics.create_repair_shipment(order.pk, warehouse.pk, [], actor=SYSTEM)

    assert not Shipment.objects.filter(purpose=Shipment.Purpose.REPAIR).exists()
