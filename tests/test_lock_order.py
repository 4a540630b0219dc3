"""Every service takes its row locks in the one order of docs/architecture.md ("Lock order"), so two
transactions never wait on each other's rows: the order in which each kind of row is first locked
is read from the statements PostgreSQL is sent."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import services as aftersales
from aftersales.models import Outcome
from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import CarrierService, InterceptionSettings, PooledTrackingNumber, Shipment, TrackingNumberPool
from orders import services as orders
from orders.models import Order, Refund
from orders.services import privacy
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    pack_all,
    pick_all,
    place,
    staff,
    stock,
    tracking_number,
)
from tests.test_returns import ask, delivered_order, take_to

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LOCK_ORDER = [
    "orders_idempotencyrecord",
    "orders_order",
    "aftersales_returnrequest",
    "aftersales_ticket",
    "orders_allocation",
    "inventory_stocklevel",
    "orders_payment",
    "orders_refund",
    "logistics_shipment",
    "logistics_shipmentline",
]
LOCKED_TABLE = re.compile(r'FROM "(\w+)"')


def tables_first_locked(run):
    """The tables whose rows `run` locks, in the order each is first locked."""
    with CaptureQueriesContext(connection) as queries:
        run()
    tables = []
    for query in queries.captured_queries:
        if "FOR UPDATE" in query["sql"]:
            table = LOCKED_TABLE.search(query["sql"]).group(1)
            if table not in tables:
                tables.append(table)
    return tables


def assert_in_lock_order(tables):
    assert tables == sorted(tables, key=LOCK_ORDER.index)


@pytest.fixture
def product():
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 10)
    return product


def test_a_dispatch_locks_its_stock_before_its_parcel(product):
    parcel = pack_all(place(lines=[(product, 2)]))[0]

    tables = tables_first_locked(
        lambda: logistics.dispatch(
            parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=SYSTEM
        )
    )

    assert tables == ["orders_order", "orders_allocation", "inventory_stocklevel", "logistics_shipment"]


def test_a_dispatch_sheet_locks_in_the_lock_order(product):
    order = place(lines=[(product, 2)])
    pack_all(order)
    rows = [
        {"row": 2, "order_number": order.number, "carrier": CarrierFactory().code, "tracking_number": tracking_number()}
    ]

    tables = tables_first_locked(lambda: logistics.dispatch_by_upload(rows, actor=SYSTEM))

    assert_in_lock_order(tables)
    assert Shipment.objects.get(order=order).status == Shipment.Status.SHIPPED


def test_cancelling_a_paid_order_on_a_pick_list_locks_in_the_lock_order(product):
    order = place(lines=[(product, 4)], payment_method="card", paid_amount="100.00")
    pick_all(order)

    tables = tables_first_locked(lambda: orders.cancel(order.pk, actor=SYSTEM, reason="customer asked"))

    assert_in_lock_order(tables)
    assert {"orders_order", "inventory_stocklevel", "orders_payment", "logistics_shipment"} <= set(tables)


def test_packing_and_delivering_lock_in_the_lock_order(product):
    order = place(lines=[(product, 1)], payment_method="cod")
    pick_all(order)
    parcel = order.shipments.get()

    scan = tables_first_locked(lambda: logistics.pack_item(parcel.pk, product.sku, actor=SYSTEM))
    close = tables_first_locked(
        lambda: logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=SYSTEM)
    )
    logistics.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=SYSTEM)
    deliver = tables_first_locked(lambda: logistics.mark_delivered(parcel.pk, actor=SYSTEM))

    assert scan == ["logistics_shipment", "logistics_shipmentline"]
    assert_in_lock_order(close)
    assert_in_lock_order(deliver)


def test_a_refund_step_locks_its_order_then_its_payment_then_itself(product):
    order = place(lines=[(product, 4)], payment_method="card", paid_amount="100.00")
    refund = orders.request_refund(order.pk, amount=Decimal("10.00"), reason="scratch", actor=SYSTEM)[0]

    tables = tables_first_locked(lambda: orders.approve_refund(refund.pk, actor=SYSTEM))

    assert tables == ["orders_order", "orders_payment", "orders_refund"]
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.APPROVED


def test_resolving_a_return_locks_in_the_lock_order():
    order = delivered_order(
        (ProductFactory(unit_price=Decimal("25.00")), 2), payment_method="card", paid_amount="50.00"
    )
    case = take_to(ask(order, (order.lines.get().product, 1), wanted=Outcome.REFUND), "inspected")

    tables = tables_first_locked(
        lambda: aftersales.resolve_return(case.pk, outcome=Outcome.REFUND, actor=staff("Customer service"))
    )

    assert_in_lock_order(tables)
    assert tables[:2] == ["orders_order", "aftersales_returnrequest"]


def test_a_count_sheet_locks_every_stock_level_it_names_before_booking_any():
    from inventory import services as inventory

    warehouse = WarehouseFactory()
    products = [ProductFactory() for _n in range(3)]
    levels = [stock(product, warehouse, 5) for product in products]
    sheet = [(product, warehouse, 7, "") for product in reversed(products)]

    with CaptureQueriesContext(connection) as queries:
        inventory.record_counts(sheet, actor=staff("Warehouse operator"))

    first_lock = next(query["sql"] for query in queries.captured_queries if "FOR UPDATE" in query["sql"])
    assert all(re.search(rf"\b{level.pk}\b", first_lock) for level in levels)
    assert 'ORDER BY "inventory_stocklevel"."id" ASC' in first_lock


def test_erasing_and_anonymising_lock_live_orders_then_archived_orders_then_customers(product):
    first = advance(place(lines=[(product, 1)], phone="13700005001"), "completed")
    second = advance(place(lines=[(product, 1)], phone="13700005002"), "completed")
    Order.objects.filter(pk=second.pk).update(completed_at=timezone.now() - timedelta(days=5000))

    erasing = tables_first_locked(lambda: privacy.erase_customer(first.customer_id, actor=SYSTEM))
    anonymising = tables_first_locked(lambda: privacy.anonymise_expired(actor=SYSTEM))

    assert erasing == anonymising == ["orders_order", "orders_archivedorder", "orders_customer"]


def test_an_edit_locks_order_allocations_stock_then_payments(product):
    order = place(lines=[(product, 3)], payment_method="card", paid_amount="75.00")
    line = order.lines.get()

    tables = tables_first_locked(
        lambda: orders.edit_order(order.pk, actor=SYSTEM, changes=[orders.LineChange(line.pk, quantity=1)])
    )

    assert tables == ["orders_order", "orders_allocation", "inventory_stocklevel", "orders_payment"]


def test_a_split_locks_order_allocations_then_payments(product):
    order = place(lines=[(product, 3)], payment_method="card", paid_amount="75.00")
    line = order.lines.get()

    tables = tables_first_locked(lambda: orders.split_off(order.pk, {line.pk: 1}, actor=SYSTEM))

    assert tables == ["orders_order", "orders_allocation", "orders_payment"]
    assert_in_lock_order(tables)


def test_confirming_a_handover_batch_locks_the_batch_first_then_as_a_dispatch_sheet(product):
    carrier = CarrierFactory()
    parcel = pack_all(place(lines=[(product, 2)]))[0]
    logistics.assign_tracking_number(parcel.pk, carrier.pk, "SF1000000000001", actor=SYSTEM)
    batch = logistics.open_handover_batch(carrier.pk, actor=SYSTEM)
    scan = tables_first_locked(lambda: logistics.scan_into_batch(batch.pk, "SF1000000000001", actor=SYSTEM))

    confirm = tables_first_locked(lambda: logistics.confirm_batch(batch.pk, actor=SYSTEM))

    assert scan == ["logistics_handoverbatch"]
    assert confirm[0] == "logistics_handoverbatch"
    assert_in_lock_order(confirm[1:])
    assert confirm[1:] == ["orders_order", "orders_allocation", "inventory_stocklevel", "logistics_shipment"]


def test_a_print_locks_its_parcels_then_their_pool_numbers_and_a_carrier_switch_burns_after_the_parcel(product):
    service = CarrierService.objects.create(
        carrier=CarrierFactory(), code="standard", name="Standard", supports_cod=True
    )
    pool = TrackingNumberPool.objects.create(service=service)
    PooledTrackingNumber.objects.create(pool=pool, carrier=service.carrier, number="SF1000000000001")
    order = place(lines=[(product, 2)])
    pick_all(order)
    parcel = order.shipments.get()
    other = CarrierService.objects.create(
        carrier=CarrierFactory(code="zto", name="ZTO"), code="standard", name="Standard", supports_cod=True
    )

    printing = tables_first_locked(lambda: logistics.print_labels([parcel.pk], actor=SYSTEM))
    switching = tables_first_locked(lambda: logistics.choose_carrier_service([order.pk], other.pk, actor=SYSTEM))

    assert printing == ["logistics_shipment", "logistics_pooledtrackingnumber"]
    # The carrier choice is written under its order's lock (update_or_create locks its row).
    assert switching == [
        "orders_order",
        "logistics_shipment",
        "logistics_pooledtrackingnumber",
        "logistics_carrierchoice",
    ]
    assert PooledTrackingNumber.objects.get().burnt_at is not None


def test_an_interception_and_a_parcel_received_back_lock_in_the_lock_order(product):
    settings = InterceptionSettings.current()
    settings.refund_waits_for_parcel = False
    settings.save()
    order = advance(place(lines=[(product, 2)], payment_method="card", paid_amount="50.00"), "shipped")
    parcel = order.shipments.get()
    coordinator, operator = staff("Logistics coordinator"), staff("Warehouse operator")

    requested = []
    request = tables_first_locked(
        lambda: requested.append(logistics.request_interception(parcel.pk, reason="cancelled", actor=coordinator))
    )
    answer = tables_first_locked(
        lambda: logistics.record_interception_outcome(requested[0].pk, intercepted=True, actor=coordinator)
    )
    receive = tables_first_locked(
        lambda: logistics.receive_parcel_back(parcel.pk, counts={parcel.lines.get().pk: (2, 0)}, actor=operator)
    )

    assert request == ["orders_order", "orders_payment", "logistics_shipment"]
    assert answer == ["orders_order", "logistics_shipment"]
    assert receive == ["orders_order", "inventory_stocklevel", "orders_payment", "logistics_shipment"]
    assert Order.objects.get(pk=order.pk).status == Order.Status.RETURNED
