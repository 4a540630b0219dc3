"""How an inspected return is resolved: a refund requested against the order's payments, an
exchange that places a linked replacement order reserving stock like any order, or a repair that
sends the goods back in a parcel of their own, which moves neither stock nor the order."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aftersales import services
from aftersales.models import Outcome, ReturnRequest
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Allocation, Order, OrderEvent, Refund
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, staff, stock, tracking_number
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
    return delivered_order((product, 2), warehouse=warehouse, payment_method="card", shipping_fee="20.00",
                           paid_amount="620.00")


def test_a_refund_resolution_requests_the_price_of_the_units_received_from_the_payments(paid_order, product, warehouse):
    case = inspected(paid_order, (product, 2), wanted=Outcome.REFUND, warehouse=warehouse)

    case = resolve(case, Outcome.REFUND)

    refund = Refund.objects.get()
    assert (refund.order, refund.payment, refund.amount) == (paid_order, paid_order.payments.get(), Decimal("600.00"))
    assert (refund.status, refund.reason) == (Refund.Status.REQUESTED, f"Return {case.number}")
    assert list(case.refunds.all()) == [refund]
    assert (case.status, case.resolution, case.refund_amount, case.refund_includes_shipping) == (
        Status.RESOLVED, Outcome.REFUND, Decimal("600.00"), False)
    paid_order.refresh_from_db()
    assert paid_order.refund_due == Decimal("600.00")


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
    case = inspected(paid_order, (product, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.REFUND, refund_amount=Decimal("700.00"))

    assert "At most 620.00" in " ".join(refused.value.message_dict["refund_amount"])
    assert not Refund.objects.exists()
    assert ReturnRequest.objects.get().status == Status.INSPECTED


@pytest.mark.parametrize("amount", ["0", "-5", "12.345", "lots"])
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
    original = delivered_order((product, 2), warehouse=warehouse, payment_method="card", paid_amount="600.00",
                               special_instructions="Leave at the door")
    stock(product, warehouse, 5)
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    case = inspected(original, (product, 2), wanted=Outcome.EXCHANGE, warehouse=warehouse)
    before = StockLevel.objects.get(pk=level.pk)

    case = resolve(case, Outcome.EXCHANGE)

    replacement = case.replacement_order
    assert replacement.status == Order.Status.CONFIRMED
    assert (replacement.channel, replacement.channel_order_id) == (original.channel, f"{case.number}-EXCHANGE")
    assert (replacement.customer, replacement.phone, replacement.address) == (
        original.customer, original.phone, original.address)
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
    case = inspected(delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE,
                     warehouse=warehouse)

    case = resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "SHOE-41"})

    assert list(case.replacement_order.lines.values_list("sku", "quantity")) == [("SHOE-41", 1)]
    assert StockLevel.objects.get(product=bigger, warehouse=warehouse).reserved == 1


def test_an_exchange_short_of_stock_is_placed_but_held_with_its_reason(product, warehouse):
    bigger = ProductFactory(sku="SHOE-42")
    case = inspected(delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE,
                     warehouse=warehouse)

    case = resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "SHOE-42"})

    assert case.replacement_order.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in case.replacement_order.hold_reasons] == ["out_of_stock"]
    assert not StockLevel.objects.filter(product=bigger).exists()


def test_an_exchange_for_an_unknown_sku_is_refused_on_its_line_and_nothing_is_placed(product, warehouse):
    case = inspected(delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.EXCHANGE,
                     warehouse=warehouse)
    orders_before = Order.objects.count()

    with pytest.raises(ValidationError) as refused:
        resolve(case, Outcome.EXCHANGE, exchange_skus={case.lines.get().pk: "NOPE"})

    assert refused.value.message_dict == {"lines[0].exchange_sku": ["Unknown SKU “NOPE”."]}
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
    orders.complete(order.pk, actor=None)
    returns = WarehouseFactory(code="REPAIRS")
    case = ask(order, (product, 1), actor=staff("Customer service"), wanted=Outcome.REPAIR)
    return take_to(case, Status.INSPECTED, warehouse=returns, results={case.lines.get().pk: (0, 1, "Sole loose")})


def test_a_repair_creates_a_repair_parcel_at_the_receiving_warehouse(repair):
    case = resolve(repair, Outcome.REPAIR)

    parcel = case.repair_shipment
    assert (parcel.purpose, parcel.status, parcel.order, parcel.warehouse) == (
        Shipment.Purpose.REPAIR, Shipment.Status.PENDING, repair.order, repair.warehouse)
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
    case = inspected(delivered_order((product, 1), warehouse=warehouse), (product, 1), wanted=Outcome.REPAIR,
                     warehouse=warehouse)
    parcel = resolve(case, Outcome.REPAIR).repair_shipment
    operator = staff("Warehouse operator")

    logistics.pack_item(parcel.pk, "SHOE-40", actor=operator)
    logistics.finish_packing(parcel.pk, weight_kg="0.8", package_count=1, actor=operator)
    logistics.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=operator)

    assert Order.objects.get(pk=case.order_id).status == Order.Status.DELIVERED


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
        logistics.create_repair_shipment(order.pk, warehouse.pk, [(other.lines.get().pk, 1)], actor=None)
    with pytest.raises(ValidationError):
        logistics.create_repair_shipment(order.pk, warehouse.pk, [(order.lines.get().pk, 2)], actor=None)
    with pytest.raises(ValidationError):
        logistics.create_repair_shipment(order.pk, warehouse.pk, [], actor=None)

    assert not Shipment.objects.filter(purpose=Shipment.Purpose.REPAIR).exists()
