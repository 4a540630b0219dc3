"""Suppliers and purchase orders (docs/architecture.md, "Suppliers and purchase orders"): drafting,
approval above the console's threshold, sending, receiving in part, over and short with a reason,
damaged units into quarantine, the ledger naming its lines, the moving average cost, overdue orders
and who may do what."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import SYSTEM
from core.permissions import Inventory
from core.transitions import TransitionRefused
from inventory import selectors, services
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchasingSettings,
    StockLevel,
    StockMovement,
    SupplierProduct,
)
from inventory.selectors import ledger_mismatches
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status
LineReceipt = services.LineReceipt


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def offer():
    return SupplierProductFactory(unit_cost=Decimal("8.00"), product=ProductFactory(cost=Decimal("0")))


@pytest.fixture
def buyer():
    return staff("Buyer")


@pytest.fixture
def operator():
    return staff("Warehouse operator")


@pytest.fixture
def manager():
    return staff("Manager")


def draft(offer, warehouse, quantity=10, actor=SYSTEM, **extra):
    return services.create_purchase_order(
        supplier_id=offer.supplier_id,
        warehouse_id=warehouse.pk,
        lines=[(offer.product_id, quantity)],
        actor=actor,
        **extra,
    )


def sent(offer, warehouse, quantity=10, **extra):
    purchase_order = draft(offer, warehouse, quantity, **extra)
    return services.send_purchase_order(purchase_order.pk, actor=SYSTEM)


def line_of(purchase_order):
    return purchase_order.lines.get()


def level(offer, warehouse):
    return StockLevel.objects.get(product=offer.product, warehouse=warehouse)


def test_a_draft_takes_the_suppliers_costs_currency_and_lead_time(warehouse, offer, buyer):
    other = SupplierProductFactory(supplier=offer.supplier, unit_cost=Decimal("3.20"))
    purchase_order = services.create_purchase_order(
        supplier_id=offer.supplier_id,
        warehouse_id=warehouse.pk,
        lines=[(offer.product_id, 12), (other.product_id, 3)],
        actor=buyer,
    )
    assert purchase_order.status == Status.DRAFT
    assert purchase_order.number.startswith("PO")
    assert purchase_order.currency == offer.supplier.currency
    assert purchase_order.created_by == buyer
    assert purchase_order.expected_on == timezone.localdate() + datetime.timedelta(days=10)
    assert purchase_order.lines.get(product=other.product).unit_cost == Decimal("3.20")
    assert services.value_in_shop_currency(purchase_order) == Decimal("105.60")


def test_a_product_the_supplier_does_not_supply_is_refused_by_its_sku(warehouse, offer):
    stranger = ProductFactory(sku="NOT-SUPPLIED")
    with pytest.raises(ValidationError, match="does not supply NOT-SUPPLIED"):
        services.create_purchase_order(
            supplier_id=offer.supplier_id, warehouse_id=warehouse.pk, lines=[(stranger.pk, 1)], actor=SYSTEM
        )


@pytest.mark.parametrize("quantity", [0, -3, 2.5, True])
def test_a_draft_refuses_quantities_that_are_not_positive_whole_numbers(warehouse, offer, quantity):
    with pytest.raises(ValidationError) as refused:
        draft(offer, warehouse, quantity)
    assert "quantity" in refused.value.message_dict
    assert not PurchaseOrder.objects.exists()


def test_on_order_counts_what_open_orders_still_bring(warehouse, offer):
    first = sent(offer, warehouse, 10)
    draft(offer, warehouse, 4)
    cancelled = draft(offer, warehouse, 100)
    services.cancel_purchase_order(cancelled.pk, reason="Duplicate", actor=SYSTEM)
    services.receive_purchase_order(first.pk, [LineReceipt(line_of(first).pk, good=3, damaged=1)], actor=SYSTEM)
    other_warehouse = WarehouseFactory()
    draft(offer, other_warehouse, 7)
    assert selectors.on_order_quantities() == {
        (offer.product_id, warehouse.pk): 6 + 4,
        (offer.product_id, other_warehouse.pk): 7,
    }
    assert selectors.on_order_quantities([ProductFactory().pk]) == {}


def test_the_state_machine_runs_draft_sent_partially_received_received_closed(warehouse, offer):
    purchase_order = draft(offer, warehouse, 10)
    line = line_of(purchase_order)
    with pytest.raises(TransitionRefused):
        services.receive_purchase_order(purchase_order.pk, [LineReceipt(line.pk, good=1)], actor=SYSTEM)
    with pytest.raises(TransitionRefused):
        services.close_purchase_order(purchase_order.pk, actor=SYSTEM)
    assert services.send_purchase_order(purchase_order.pk, actor=SYSTEM).status == Status.SENT
    purchase_order = services.receive_purchase_order(purchase_order.pk, [LineReceipt(line.pk, good=4)], actor=SYSTEM)
    assert purchase_order.status == Status.PARTIALLY_RECEIVED
    with pytest.raises(TransitionRefused):
        services.cancel_purchase_order(purchase_order.pk, reason="Too late", actor=SYSTEM)
    purchase_order = services.receive_purchase_order(purchase_order.pk, [LineReceipt(line.pk, good=6)], actor=SYSTEM)
    assert purchase_order.status == Status.RECEIVED
    assert services.close_purchase_order(purchase_order.pk, actor=SYSTEM).status == Status.CLOSED
    assert list(purchase_order.events.values_list("to_status", flat=True)) == [
        "sent",
        "partially_received",
        "received",
        "closed",
    ]


def test_cancelling_needs_a_reason_and_keeps_it(warehouse, offer):
    purchase_order = sent(offer, warehouse)
    with pytest.raises(ValidationError) as refused:
        services.cancel_purchase_order(purchase_order.pk, reason="  ", actor=SYSTEM)
    assert "reason" in refused.value.message_dict
    purchase_order = services.cancel_purchase_order(purchase_order.pk, reason="Supplier out of stock", actor=SYSTEM)
    assert purchase_order.status == Status.CANCELLED
    assert purchase_order.cancel_reason == "Supplier out of stock"
    assert purchase_order.events.last().reason == "Supplier out of stock"


def test_a_buyer_sends_under_the_threshold_but_above_it_only_once_a_manager_approved(warehouse, offer, buyer, manager):
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("100")})
    small = draft(offer, warehouse, 12, actor=buyer)  # 96.00
    assert services.send_purchase_order(small.pk, actor=buyer).status == Status.SENT
    assert small.approved_by is None
    large = draft(offer, warehouse, 13, actor=buyer)  # 104.00
    with pytest.raises(PermissionDenied, match="above CNY 100"):
        services.send_purchase_order(large.pk, actor=buyer)
    with pytest.raises(PermissionDenied):
        services.approve_purchase_order(large.pk, actor=buyer)
    services.approve_purchase_order(large.pk, actor=manager)
    large = services.send_purchase_order(large.pk, actor=buyer)
    assert large.status == Status.SENT
    assert large.approved_by == manager


def test_changing_an_approved_draft_withdraws_the_approval(warehouse, offer, buyer, manager):
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("100")})
    purchase_order = draft(offer, warehouse, 20, actor=buyer)
    services.approve_purchase_order(purchase_order.pk, actor=manager)
    services.update_purchase_order(
        purchase_order.pk,
        lines=[services.DraftLine(offer.product_id, 200)],
        expected_on=None,
        exchange_rate=None,
        actor=buyer,
    )
    with pytest.raises(PermissionDenied, match="a manager approves it"):
        services.send_purchase_order(purchase_order.pk, actor=buyer)


def test_a_manager_sending_above_the_threshold_approves_by_sending(warehouse, offer, manager):
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("1")})
    purchase_order = services.send_purchase_order(draft(offer, warehouse, 10).pk, actor=manager)
    assert purchase_order.approved_by == manager


def test_the_threshold_compares_the_value_in_the_shops_currency(warehouse, buyer):
    PurchasingSettings.objects.update_or_create(pk=1, defaults={"approval_threshold": Decimal("500")})
    offer = SupplierProductFactory(supplier=SupplierFactory(currency="USD"), unit_cost=Decimal("10.00"))
    purchase_order = draft(offer, warehouse, 10, actor=buyer, exchange_rate=Decimal("7.2"))  # USD 100 = CNY 720
    assert services.value_in_shop_currency(purchase_order) == Decimal("720.00")
    with pytest.raises(PermissionDenied, match="CNY 720.00"):
        services.send_purchase_order(purchase_order.pk, actor=buyer)


def test_an_order_in_a_foreign_currency_needs_its_exchange_rate(warehouse):
    offer = SupplierProductFactory(supplier=SupplierFactory(currency="USD"))
    purchase_order = draft(offer, warehouse)
    with pytest.raises(ValidationError) as refused:
        services.send_purchase_order(purchase_order.pk, actor=SYSTEM)
    assert "exchange rate to CNY" in refused.value.message_dict["exchange_rate"][0]


def test_an_order_in_another_currency_than_its_suppliers_is_refused(warehouse, offer):
    purchase_order = draft(offer, warehouse)
    PurchaseOrder.objects.filter(pk=purchase_order.pk).update(currency="EUR", exchange_rate=Decimal("7.8"))
    with pytest.raises(ValidationError) as refused:
        services.send_purchase_order(purchase_order.pk, actor=SYSTEM)
    assert "invoices in CNY" in refused.value.message_dict["currency"][0]


def test_sending_below_the_suppliers_minimum_order_is_refused(warehouse, offer):
    offer.supplier.minimum_order_value = Decimal("500")
    offer.supplier.save()
    with pytest.raises(ValidationError, match="takes orders from CNY 500"):
        services.send_purchase_order(draft(offer, warehouse, 10).pk, actor=SYSTEM)


def test_receiving_in_part_books_stock_with_every_movement_naming_its_line(warehouse, offer, operator):
    purchase_order = sent(offer, warehouse, 10)
    line = line_of(purchase_order)
    services.receive_purchase_order(purchase_order.pk, [LineReceipt(line.pk, good=4, damaged=2)], actor=operator)
    line.refresh_from_db()
    assert (line.quantity_received, line.quantity_damaged, line.outstanding) == (4, 2, 4)
    stock_level = level(offer, warehouse)
    assert (stock_level.on_hand, stock_level.quarantined) == (4, 2)
    movements = StockMovement.objects.filter(stock_level=stock_level)
    assert {(m.kind, m.on_hand_change, m.quarantined_change) for m in movements} == {
        (StockMovement.Kind.RECEIPT, 4, 0),
        (StockMovement.Kind.QUARANTINE, 0, 2),
    }
    assert {m.purchase_order_line_id for m in movements} == {line.pk}
    assert {m.reference for m in movements} == {purchase_order.number}
    assert list(ledger_mismatches()) == []


def test_receiving_more_than_ordered_without_a_reason_is_refused_naming_the_field(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10)
    line = line_of(purchase_order)
    with pytest.raises(ValidationError) as refused:
        services.receive_purchase_order(purchase_order.pk, [LineReceipt(line.pk, good=12)], actor=SYSTEM)
    message = refused.value.message_dict["reason"][0]
    assert "12 units would have arrived against 10 ordered" in message
    assert "why the quantity differs" in message
    assert not StockLevel.objects.filter(product=offer.product, on_hand__gt=0).exists()
    line.refresh_from_db()
    assert line.quantity_received == 0


def test_receiving_more_than_ordered_with_a_reason_is_kept(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10)
    line = line_of(purchase_order)
    purchase_order = services.receive_purchase_order(
        purchase_order.pk, [LineReceipt(line.pk, good=12, reason="Supplier sent a full carton")], actor=SYSTEM
    )
    line.refresh_from_db()
    assert purchase_order.status == Status.RECEIVED
    assert (line.quantity_received, line.difference_reason) == (12, "Supplier sent a full carton")
    assert level(offer, warehouse).on_hand == 12


def test_a_line_ended_short_needs_a_reason_and_completes_the_order(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10)
    line = line_of(purchase_order)
    with pytest.raises(ValidationError) as refused:
        services.receive_purchase_order(
            purchase_order.pk, [LineReceipt(line.pk, good=7, no_more_to_come=True)], actor=SYSTEM
        )
    assert "7 of 10 units arrived" in refused.value.message_dict["reason"][0]
    purchase_order = services.receive_purchase_order(
        purchase_order.pk,
        [LineReceipt(line.pk, good=7, no_more_to_come=True, reason="Discontinued by the maker")],
        actor=SYSTEM,
    )
    assert purchase_order.status == Status.RECEIVED
    assert selectors.on_order_quantities() == {}


@pytest.mark.parametrize("field", ["good", "damaged"])
def test_receiving_negative_quantities_is_refused(warehouse, offer, field):
    purchase_order = sent(offer, warehouse, 10)
    with pytest.raises(ValidationError) as refused:
        services.receive_purchase_order(
            purchase_order.pk, [LineReceipt(line_of(purchase_order).pk, **{field: -1})], actor=SYSTEM
        )
    assert field in refused.value.message_dict


def test_receiving_nothing_is_refused(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10)
    with pytest.raises(ValidationError, match="at least one unit"):
        services.receive_purchase_order(purchase_order.pk, [LineReceipt(line_of(purchase_order).pk)], actor=SYSTEM)


def test_scanning_books_one_unit_and_refuses_unknown_codes_and_products_not_ordered(warehouse, offer, operator):
    purchase_order = sent(offer, warehouse, 2)
    line = services.receive_scanned(purchase_order.pk, code=offer.product.barcode, actor=operator)
    assert line.quantity_received == 1
    line = services.receive_scanned(purchase_order.pk, code=offer.supplier_sku, actor=operator, damaged=True)
    assert (line.quantity_received, line.quantity_damaged) == (1, 1)
    with pytest.raises(ValidationError) as unknown:
        services.receive_scanned(purchase_order.pk, code="NO-SUCH-CODE", actor=operator)
    assert "No product has the barcode or SKU “NO-SUCH-CODE”" in unknown.value.message_dict["code"][0]
    stranger = ProductFactory()
    with pytest.raises(ValidationError, match="is not on purchase order"):
        services.receive_scanned(purchase_order.pk, code=stranger.sku, actor=operator)
    with pytest.raises(ValidationError, match="Book more through the form"):
        services.receive_scanned(purchase_order.pk, code=offer.product.sku, actor=operator)
    assert PurchaseOrder.objects.get(pk=purchase_order.pk).status == Status.RECEIVED


def test_cost_is_the_moving_weighted_average_of_receipts_in_the_shops_currency(warehouse):
    product = ProductFactory(cost=Decimal("0"))
    local = SupplierProductFactory(product=product, unit_cost=Decimal("10.00"))
    abroad = SupplierProductFactory(
        product=product, supplier=SupplierFactory(currency="USD"), unit_cost=Decimal("2.00")
    )
    first = sent(local, warehouse, 10)
    services.receive_purchase_order(first.pk, [LineReceipt(line_of(first).pk, good=10)], actor=SYSTEM)
    product.refresh_from_db()
    assert product.cost == Decimal("10.00")
    # 10 on hand at 10.00, then 30 at USD 2.00 × 7.00 = 14.00: (100 + 420) / 40 = 13.00.
    second = sent(abroad, warehouse, 30, exchange_rate=Decimal("7"))
    services.receive_purchase_order(second.pk, [LineReceipt(line_of(second).pk, good=30)], actor=SYSTEM)
    product.refresh_from_db()
    assert product.cost == Decimal("13.00")


def test_damaged_units_leave_the_average_cost_alone(warehouse, offer):
    stock(offer.product, warehouse, 10)
    offer.product.cost = Decimal("5.00")
    offer.product.save()
    purchase_order = sent(offer, warehouse, 10)  # at 8.00
    services.receive_purchase_order(
        purchase_order.pk, [LineReceipt(line_of(purchase_order).pk, good=5, damaged=5)], actor=SYSTEM
    )
    offer.product.refresh_from_db()
    # (10 × 5.00 + 5 × 8.00) / 15 = 6.00: the damaged five are in quarantine, not in the stock's value.
    assert offer.product.cost == Decimal("6.00")


def test_cost_starts_again_from_the_receipt_when_nothing_is_on_hand(warehouse, offer):
    offer.product.cost = Decimal("99.00")
    offer.product.save()
    purchase_order = sent(offer, warehouse, 4)
    services.receive_purchase_order(purchase_order.pk, [LineReceipt(line_of(purchase_order).pk, good=4)], actor=SYSTEM)
    offer.product.refresh_from_db()
    assert offer.product.cost == Decimal("8.00")


def test_overdue_lists_sent_orders_past_their_date_not_fully_received(warehouse, offer):
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    late = sent(offer, warehouse, 10, expected_on=yesterday)
    late_in_part = sent(offer, warehouse, 10, expected_on=yesterday)
    services.receive_purchase_order(late_in_part.pk, [LineReceipt(line_of(late_in_part).pk, good=3)], actor=SYSTEM)
    arrived = sent(offer, warehouse, 10, expected_on=yesterday)
    services.receive_purchase_order(arrived.pk, [LineReceipt(line_of(arrived).pk, good=10)], actor=SYSTEM)
    sent(offer, warehouse, 10, expected_on=today)
    draft(offer, warehouse, 10, expected_on=yesterday)
    assert set(selectors.overdue_purchase_orders()) == {late, late_in_part}


def test_a_line_expected_earlier_than_its_order_makes_it_overdue(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10, expected_on=timezone.localdate() + datetime.timedelta(days=5))
    PurchaseOrderLine.objects.filter(purchase_order=purchase_order).update(
        expected_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert list(selectors.overdue_purchase_orders()) == [purchase_order]


def test_a_product_has_at_most_one_preferred_supplier(offer):
    SupplierProduct.objects.filter(pk=offer.pk).update(preferred=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplierProductFactory(product=offer.product, preferred=True)


def test_the_database_refuses_more_arrived_than_ordered_without_a_reason(warehouse, offer):
    purchase_order = sent(offer, warehouse, 10)
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseOrderLine.objects.filter(purchase_order=purchase_order).update(quantity_received=8, quantity_damaged=3)


def test_roles_decide_who_drafts_sends_approves_and_receives(warehouse, offer, buyer, operator, manager):
    with pytest.raises(PermissionDenied):
        draft(offer, warehouse, actor=operator)
    purchase_order = draft(offer, warehouse, actor=buyer)
    with pytest.raises(PermissionDenied):
        services.send_purchase_order(purchase_order.pk, actor=operator)
    services.send_purchase_order(purchase_order.pk, actor=buyer)
    with pytest.raises(PermissionDenied):
        services.receive_purchase_order(
            purchase_order.pk, [LineReceipt(line_of(purchase_order).pk, good=1)], actor=buyer
        )
    services.receive_purchase_order(
        purchase_order.pk, [LineReceipt(line_of(purchase_order).pk, good=1)], actor=operator
    )
    for role, may_approve in (("Buyer", False), ("Warehouse operator", False), ("Manager", True)):
        assert staff(role).has_perm(Inventory.APPROVE_PURCHASE_ORDER) is may_approve
