"""The dashboard's daily rollups: kept current by what the order and logistics services announce
(orders placed, status changes, payments, parcel steps, a corrected province), and always equal to
a recomputation from those records (`rebuild_rollups`)."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics import services
from analytics.models import (
    DailyHandling,
    DailyOrders,
    DailyProductSales,
    DailyProvinceOrders,
    DailyShipments,
    DailyStageTime,
)
from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import Shipment, TrackingEvent
from orders import services as orders
from orders.models import Order
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    dispatch_all,
    order_input,
    pack_all,
    pick_all,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db
Status = Order.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def counted(django_capture_on_commit_callbacks):
    """Runs what the block commits, rollup writes included (the test's own transaction never commits)."""
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def products():
    warehouse = WarehouseFactory()
    items = [ProductFactory(unit_price=Decimal("25.00")), ProductFactory(unit_price=Decimal("40.00"))]
    for product in items:
        stock(product, warehouse, 500)
    return items


def assert_rollups_agree_with_the_records():
    checks = services.rebuild(replace=False)
    assert {check.model.__name__: check.differing for check in checks} == {check.model.__name__: 0 for check in checks}


# What one change adds ---------------------------------------------------------------------------


def test_an_order_placed_counts_once_on_its_day_with_its_value_province_and_products(counted, products):
    cheap, dear = products
    placed_at = datetime(2025, 3, 3, 23, 30, tzinfo=SHANGHAI)

    with counted():
        order = place(
            lines=[(cheap, 2), (dear, 1)], placed_at=placed_at, province="广东省", city="广州市", district="天河区"
        )

    day = date(2025, 3, 3)
    row = DailyOrders.objects.get()
    assert (row.day, row.channel_id, row.orders, row.gmv) == (day, order.channel_id, 1, Decimal("90.00"))
    assert row.reached_confirmed == 1 and row.reached_picking == 0
    assert DailyProvinceOrders.objects.values_list("day", "province", "orders", "gmv").get() == (
        day,
        "广东省",
        1,
        Decimal("90.00"),
    )
    assert set(DailyProductSales.objects.values_list("product_id", "quantity", "revenue")) == {
        (cheap.pk, 2, Decimal("50.00")),
        (dear.pk, 1, Decimal("40.00")),
    }


def test_the_day_is_the_shops_day_not_utc(counted, products):
    # 23:30 on 3 March in Shanghai is still 3 March there, though 15:30 UTC.
    with counted():
        place(lines=[(products[0], 1)], placed_at=datetime(2025, 3, 3, 15, 30, tzinfo=ZoneInfo("UTC")))
        place(lines=[(products[0], 1)], placed_at=datetime(2025, 3, 3, 16, 30, tzinfo=ZoneInfo("UTC")))

    assert dict(DailyOrders.objects.values_list("day", "orders")) == {date(2025, 3, 3): 1, date(2025, 3, 4): 1}


def test_a_cancellation_counts_in_the_row_of_the_day_the_order_was_placed(counted, products):
    with counted():
        order = place(lines=[(products[0], 1)], placed_at=timezone.now() - timedelta(days=3))
    with counted():
        orders.cancel(order.pk, actor=staff("Customer service"), reason="customer asked")

    row = DailyOrders.objects.get()
    assert row.day == services.local_day(order.placed_at)
    assert (row.orders, row.cancelled_orders) == (1, 1)


def test_an_order_counts_as_paid_once_by_the_payment_that_completes_it(counted, products):
    finance = staff("Finance")
    with counted():
        order = place(lines=[(products[1], 1)], payment_method="card", paid_amount="10.00")
    with counted():
        orders.record_payment(order.pk, method="card", amount=Decimal("20.00"), actor=finance)
    assert DailyOrders.objects.get().paid_orders == 0

    with counted():
        orders.record_payment(order.pk, method="card", amount=Decimal("10.00"), actor=finance)

    assert DailyOrders.objects.get().paid_orders == 1


def test_the_funnel_counts_a_stage_an_order_skipped_on_its_way(counted, products):
    with counted():
        order = place(lines=[(products[0], 1)])
        advance(order, "delivered")

    row = DailyOrders.objects.get()
    assert [
        row.reached_confirmed,
        row.reached_picking,
        row.reached_packed,
        row.reached_shipped,
        row.reached_delivered,
        row.reached_completed,
    ] == [1, 1, 1, 1, 1, 0]


def test_shipment_steps_count_dispatch_delivery_and_the_people_who_did_them(counted, products):
    operator, coordinator = staff("Warehouse operator"), staff("Logistics coordinator")
    with counted():
        order = place(lines=[(products[0], 1)])
        pack_all(order, actor=operator)
        [shipment] = dispatch_all(order, actor=coordinator)
        logistics.mark_delivered(shipment.pk, actor=coordinator)

    shipped = DailyShipments.objects.get()
    assert (shipped.dispatched, shipped.delivered, shipped.delivery_timed, shipped.promised, shipped.on_time) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert shipped.warehouse_id == shipment.warehouse_id
    handled = dict(DailyHandling.objects.values_list("step", "user_id"))
    assert handled == {"pick": operator.pk, "pack": operator.pk, "dispatch": coordinator.pk}


def test_a_change_rolled_back_counts_nothing(counted, products):
    with counted(), transaction.atomic():
        place(lines=[(products[0], 1)])
        transaction.set_rollback(True)

    assert not DailyOrders.objects.exists()
    assert not DailyStageTime.objects.exists()


def test_a_province_corrected_after_intake_moves_the_order_to_its_new_province(counted, products):
    with counted():
        order = place(lines=[(products[0], 1)], province="浙江省", city="", district="")
    assert order.status == Status.ON_HOLD
    with counted():
        orders.update_delivery_address(
            order.pk, actor=staff("Order reviewer"), province="江苏省", city="南京市", district="鼓楼区"
        )

    assert dict(DailyProvinceOrders.objects.filter(orders__gt=0).values_list("province", "orders")) == {"江苏省": 1}
    assert_rollups_agree_with_the_records()


def test_orders_placed_in_bulk_are_counted_like_single_ones(counted, products):
    channel = ChannelFactory()
    inputs = [
        order_input(channel, lines=[(products[0], n)], payment_method="card", paid_amount=f"{25 * n}.00")
        for n in (1, 2, 3)
    ]

    with counted():
        orders.place_orders(inputs, actor=SYSTEM)

    row = DailyOrders.objects.get()
    assert (row.orders, row.gmv, row.paid_orders) == (3, Decimal("150.00"), 3)
    assert DailyProductSales.objects.get().quantity == 6
    assert_rollups_agree_with_the_records()


def test_a_repeated_upsert_adds_to_the_row_instead_of_replacing_it():
    increments = services.Increments()
    increments.add(DailyOrders, (date(2025, 1, 1), 7), orders=2, gmv=Decimal("10.50"))

    services.apply(increments)
    services.apply(increments)

    assert DailyOrders.objects.values_list("orders", "gmv").get() == (4, Decimal("21.00"))


@pytest.mark.parametrize(
    "seconds, bucket",
    [
        (0, 0),
        (59, 0),
        (60, 60),
        (299, 180),
        (300, 300),
        (3599, 2700),
        (3600, 3600),
        (90 * 86400, 30 * 86400),
    ],
)
def test_handling_times_fall_in_the_bucket_that_starts_at_or_below_them(seconds, bucket):
    assert services.handling_bucket(seconds) == bucket


# Agreement with a recomputation -------------------------------------------------------------


def run_random_shop(rng, products, *, orders_count=30):
    """Orders placed over ten days and taken through a random mix of what happens to orders:
    review, payments, cancellations, address fixes, picking, packing, dispatch, delivery, delivery
    exceptions, parcels returned to sender, completion."""
    reviewer, operator = staff("Order reviewer"), staff("Warehouse operator")
    coordinator, service, finance, manager = (
        staff("Logistics coordinator"),
        staff("Customer service"),
        staff("Finance"),
        staff("Manager"),
    )
    channels = [ChannelFactory(code="web", name="Web shop"), ChannelFactory(code="app", name="App")]
    places = [("浙江省", "杭州市", "西湖区"), ("江苏省", "南京市", "鼓楼区"), ("广东省", "广州市", "天河区")]
    for n in range(orders_count):
        lines = [(product, rng.randint(1, 3)) for product in rng.sample(products, rng.randint(1, len(products)))]
        held = rng.random() < 0.25
        province, city, district = rng.choice(places)
        order = place(
            rng.choice(channels),
            lines=lines,
            province=province,
            city="" if held else city,
            district="" if held else district,
            phone=f"1390000{n:04d}",
            address=f"文三路 {n + 1} 号",
            payment_method=rng.choice(["cod", "card"]),
            placed_at=timezone.now() - timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 23)),
        )
        if order.status == Status.AWAITING_PAYMENT:
            # A card order sent unpaid waits for its payment, which sends it through the checks.
            if rng.random() < 0.3:
                continue
            orders.record_payment(order.pk, method="card", amount=order.total, actor=finance)
            order.refresh_from_db()
        if order.status == Status.ON_HOLD:
            if rng.random() < 0.4:
                province, city, district = rng.choice(places)
                orders.update_delivery_address(
                    order.pk, actor=reviewer, province=province, city=city, district=district
                )
            decision = rng.random()
            if decision < 0.3:
                orders.reject(order.pk, actor=reviewer, reason="unreachable")
                continue
            if decision < 0.5:
                continue
            orders.approve(order.pk, actor=reviewer)
        fate = rng.choice(
            ["confirmed", "picking", "packed", "cancel", "shipped", "delivered", "exception", "returned", "completed"]
        )
        if fate == "cancel":
            if rng.random() < 0.5:
                pick_all(order, actor=operator)
            orders.cancel(order.pk, actor=service, reason="customer asked")
        elif fate in ("picking", "packed", "shipped", "delivered"):
            advance(order, fate, actor=operator)
        elif fate == "completed":
            advance(order, "delivered", actor=operator)
            orders.complete(order.pk, actor=manager)
        elif fate in ("exception", "returned"):
            advance(order, "shipped", actor=operator)
            shipment = order.shipments.get()
            logistics.record_tracking_event(
                shipment.pk,
                status=fate,
                occurred_at=timezone.now(),
                source=TrackingEvent.Source.CONSOLE,
                exception_kind="delayed" if fate == "exception" else "",
                actor=coordinator,
            )
            if fate == "exception" and rng.random() < 0.5:
                logistics.mark_delivered(shipment.pk, actor=coordinator)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_rollups_agree_with_a_full_recomputation_after_a_random_day_of_business(counted, seed):
    warehouses = [WarehouseFactory(), WarehouseFactory()]
    products = [ProductFactory(unit_price=Decimal(price)) for price in ("19.90", "25.00", "99.00")]
    for product in products:
        for warehouse in warehouses:
            stock(product, warehouse, 40)

    with counted():
        run_random_shop(random.Random(seed), products)

    assert DailyOrders.objects.aggregate(total=Sum("orders"))["total"] == Order.objects.count() == 30
    assert DailyShipments.objects.aggregate(delivered=Sum("delivered"))["delivered"] == (
        Shipment.objects.filter(status=Shipment.Status.DELIVERED).count()
    )
    assert_rollups_agree_with_the_records()


def test_rebuild_command_reports_agreement_then_finds_and_repairs_a_lost_increment(counted, products):
    with counted():
        for _n in range(3):
            advance(place(lines=[(products[0], 1)]), "shipped")
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "agreed with the recomputation" in out.getvalue()

    DailyOrders.objects.update(orders=2)
    out = StringIO()
    with pytest.raises(CommandError, match="disagreed with the recomputation in 1 rows; nothing was changed"):
        call_command("rebuild_rollups", "--check", stdout=out)
    assert "analytics_dailyorders: 1 rows, 1 rows differed" in out.getvalue()
    assert DailyOrders.objects.get().orders == 2

    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "were replaced by it" in out.getvalue()
    assert DailyOrders.objects.get().orders == 3
    assert_rollups_agree_with_the_records()


# Real concurrency ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_payments_cancellations_and_pick_lists_lose_no_increment():
    from tests.test_concurrency import race

    warehouses = [WarehouseFactory(), WarehouseFactory()]
    kept_in = [ProductFactory(), ProductFactory()]
    for product, warehouse in zip(kept_in, warehouses, strict=True):
        stock(product, warehouse, 1000)
    product = kept_in[0]
    web, app = ChannelFactory(code="web", name="Web"), ChannelFactory(code="app", name="App")
    # Orders of both channels waiting in each warehouse, for two pick lists made at the same moment
    # that add to the same day rows in opposite orders.
    waiting = {warehouse.pk: [] for warehouse in warehouses}
    for n in range(8):
        where = n % 2
        order = place(
            [web, app][(n // 2 + where) % 2],
            lines=[(kept_in[where], 1)],
            phone=f"1370000{n:04d}",
            address=f"解放路 {n} 号",
        )
        waiting[warehouses[where].pk].append(order.pk)
    to_cancel = place(web, lines=[(product, 1)], phone="13711110000", address="人民路 1 号")
    to_pay = place(app, lines=[(product, 1)], phone="13711110001", address="人民路 2 号", payment_method="card")
    operators = [staff("Warehouse operator"), staff("Warehouse operator")]
    buyers = [
        order_input(web if n % 2 else app, lines=[(product, 1)], phone=f"1360000{n:04d}", address=f"中山路 {n} 号")
        for n in range(10)
    ]

    outcomes = race(
        *[partial(orders.place_order, data, actor=SYSTEM) for data in buyers],
        *[
            partial(logistics.create_pick_wave, warehouse_id, ids, actor=operator)
            for (warehouse_id, ids), operator in zip(waiting.items(), operators, strict=True)
        ],
        partial(orders.cancel, to_cancel.pk, actor=staff("Customer service"), reason="changed mind"),
        partial(orders.record_payment, to_pay.pk, method="card", amount=to_pay.total, actor=staff("Finance")),
    )

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    totals = DailyOrders.objects.aggregate(
        orders=Sum("orders"), cancelled=Sum("cancelled_orders"), paid=Sum("paid_orders"), picking=Sum("reached_picking")
    )
    assert totals == {"orders": 20, "cancelled": 1, "paid": 1, "picking": 8}
    assert_rollups_agree_with_the_records()
