"""Pick lists as waves: the selected orders of one warehouse, one parcel per order there, items summed
by SKU in bin order; split orders ship per warehouse; made from the order list in the console."""

from itertools import count

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.actors import SYSTEM
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from logistics import selectors
from logistics import services as logistics
from logistics.models import PickWave, Shipment
from orders import services as orders
from orders.models import Order
from tests.factories import (
    CarrierFactory,
    ProductFactory,
    WarehouseFactory,
    pack_all,
    place,
    staff,
    stock,
    tracking_number,
)
from tests.test_concurrency import race

pytestmark = pytest.mark.django_db

Status = Order.Status
ORDER_LIST = reverse("admin:orders_order_changelist")
CREATE = reverse("admin:logistics_pickwave_add")
_customers = count(1)


def new_order(*lines, **overrides):
    """A confirmed order from a customer of its own, so repeat-order risk rules never hold it."""
    n = next(_customers)
    return place(lines=list(lines), phone=f"1360000{n:04d}", address=f"体育场路 {n} 号", **overrides)


def held_order(product):
    return new_order((product, 1), city="", district="")


def fresh(order):
    return Order.objects.get(pk=order.pk)


def print_url(wave):
    return reverse("admin:logistics_pickwave_print", args=[wave.pk])


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ")


@pytest.fixture
def shelves(warehouse):
    """Two products on shelves A-10 and A-2 (the walk visits A-2 first)."""
    far_shelf, near_shelf = ProductFactory(name="Teapot"), ProductFactory(name="Cup")
    stock(far_shelf, warehouse, 50, bin_location="A-10")
    stock(near_shelf, warehouse, 50, bin_location="A-2")
    return far_shelf, near_shelf


@pytest.fixture
def split_stock():
    """Shirts only in the first warehouse, socks only in the second, so an order of both is split."""
    near, far = WarehouseFactory(code="NEAR", priority=1), WarehouseFactory(code="FAR", priority=2)
    shirt, socks = ProductFactory(), ProductFactory()
    stock(shirt, near, 5, bin_location="S-1")
    stock(socks, far, 5, bin_location="K-1")
    return near, far, shirt, socks


# --- split orders ------------------------------------------------------------------------------


def dispatch(shipment):
    return logistics.dispatch(
        shipment.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=SYSTEM
    )


def test_a_split_order_gets_one_shipment_per_warehouse_with_the_goods_each_holds(split_stock):
    near, far, shirt, socks = split_stock
    order = new_order((shirt, 1), (socks, 2))

    logistics.create_pick_wave(far.pk, [order.pk], actor=SYSTEM)
    logistics.create_pick_wave(near.pk, [order.pk], actor=SYSTEM)

    by_warehouse = {
        shipment.warehouse: [(line.order_line.sku, line.quantity) for line in shipment.lines.all()]
        for shipment in order.shipments.all()
    }
    assert by_warehouse == {near: [(shirt.sku, 1)], far: [(socks.sku, 2)]}
    assert fresh(order).status == Status.PICKING


def test_a_line_no_single_warehouse_can_fill_is_split_by_warehouse_priority():
    first, second = WarehouseFactory(priority=1), WarehouseFactory(priority=2)
    product = ProductFactory()
    stock(product, first, 2)
    stock(product, second, 2)
    order = new_order((product, 3))

    for warehouse in (first, second):
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)

    assert sorted(
        (shipment.warehouse.priority, shipment.lines.get().quantity) for shipment in order.shipments.all()
    ) == [(1, 2), (2, 1)]


def test_a_split_order_is_partially_shipped_after_the_first_parcel_and_shipped_after_the_last(split_stock):
    near, far, shirt, socks = split_stock
    order = new_order((shirt, 1), (socks, 2))
    first, second = pack_all(order)

    dispatch(first)
    assert fresh(order).status == Status.PARTIALLY_SHIPPED
    assert StockLevel.objects.get(warehouse=second.warehouse).reserved == 2
    dispatch(second)

    assert fresh(order).status == Status.SHIPPED
    assert not StockLevel.objects.filter(reserved__gt=0).exists()
    assert list(ledger_mismatches()) == []


def test_one_warehouse_may_ship_while_the_other_is_still_picking(split_stock):
    near, far, shirt, socks = split_stock
    order = new_order((shirt, 1), (socks, 2))
    far_parcel = logistics.create_pick_wave(far.pk, [order.pk], actor=SYSTEM).shipments.get()
    logistics.create_pick_wave(near.pk, [order.pk], actor=SYSTEM)
    for _unit in range(2):
        logistics.pack_item(far_parcel.pk, socks.barcode, actor=SYSTEM)
    logistics.finish_packing(far_parcel.pk, weight_kg="1.0", package_count=1, actor=SYSTEM)

    dispatch(far_parcel)

    assert fresh(order).status == Status.PARTIALLY_SHIPPED
    assert fresh(order).shipments.get(warehouse=near).status == Shipment.Status.PENDING


# --- making a pick list ------------------------------------------------------------------------


def test_a_pick_list_sums_items_by_sku_sorted_by_bin_then_sku(warehouse, shelves):
    far_shelf, near_shelf = shelves
    no_bin, same_bin = ProductFactory(sku="ZZ-1"), ProductFactory(sku="AA-1")
    stock(no_bin, warehouse, 5)
    stock(same_bin, warehouse, 5, bin_location="A-10")
    first = new_order((far_shelf, 2), (near_shelf, 1), (no_bin, 1))
    second = new_order((far_shelf, 3), (same_bin, 1))

    wave = logistics.create_pick_wave(warehouse.pk, [first.pk, second.pk], actor=SYSTEM)

    sheet = selectors.pick_sheet(wave.pk)
    assert [(row.bin_location, row.sku, row.quantity) for row in sheet.rows] == [
        ("A-2", near_shelf.sku, 1),
        ("A-10", same_bin.sku, 1),
        ("A-10", far_shelf.sku, 5),
        ("", no_bin.sku, 1),
    ]
    teapots = sheet.rows[2]
    assert (teapots.name, teapots.barcode) == ("Teapot", far_shelf.barcode)
    assert teapots.order_quantities == sorted([(first.number, 2), (second.number, 3)])
    assert sorted(o.number for o in sheet.orders) == sorted([first.number, second.number])
    assert sheet.total_quantity == 8


def test_a_pick_list_moves_confirmed_orders_to_picking_and_records_who_made_it(warehouse, shelves):
    operator = staff("Warehouse operator")
    first, second = new_order((shelves[0], 1)), new_order((shelves[1], 1))

    wave = logistics.create_pick_wave(warehouse.pk, [first.pk, second.pk], actor=operator)

    assert (wave.warehouse, wave.created_by) == (warehouse, operator)
    for order in (first, second):
        event = fresh(order).events.last()
        assert (event.from_status, event.to_status, event.actor) == (Status.CONFIRMED, Status.PICKING, operator)
        assert str(wave) in event.reason


def test_an_order_not_pickable_there_refuses_the_whole_list_naming_it(warehouse, shelves):
    elsewhere = WarehouseFactory(code="SH")
    stray = ProductFactory()
    stock(stray, elsewhere, 5)
    good = new_order((shelves[0], 1))
    held = held_order(shelves[0])
    other_warehouse = new_order((stray, 1))

    with pytest.raises(ValidationError) as refused:
        logistics.create_pick_wave(warehouse.pk, [good.pk, held.pk, other_warehouse.pk], actor=SYSTEM)

    message = " ".join(refused.value.messages)
    assert f"{held.number} is Held for review" in message
    assert f"{other_warehouse.number} has nothing waiting in {warehouse.code}" in message
    assert good.number not in message
    assert not PickWave.objects.exists() and not Shipment.objects.exists()
    assert fresh(good).status == Status.CONFIRMED


def test_an_order_already_on_a_pick_list_of_that_warehouse_refuses_a_second_one(warehouse, shelves):
    order = new_order((shelves[0], 1))
    logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)

    with pytest.raises(ValidationError) as refused:
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)

    assert "already on a pick list" in " ".join(refused.value.messages)
    assert PickWave.objects.count() == 1 and order.shipments.count() == 1


def test_cancelling_an_order_on_a_pick_list_cancels_its_parcel_and_releases_its_stock(warehouse, shelves):
    kept, cancelled = new_order((shelves[0], 2)), new_order((shelves[0], 3))
    wave = logistics.create_pick_wave(warehouse.pk, [kept.pk, cancelled.pk], actor=SYSTEM)

    orders.cancel(cancelled.pk, actor=staff("Customer service"), reason="customer changed mind")

    assert cancelled.shipments.get().status == Shipment.Status.CANCELLED
    assert kept.shipments.get().status == Shipment.Status.PENDING
    assert StockLevel.objects.get(product=shelves[0]).reserved == 2
    sheet = selectors.pick_sheet(wave.pk)
    assert [(row.sku, row.quantity) for row in sheet.rows] == [(shelves[0].sku, 2)]
    assert [o.number for o in sheet.cancelled] == [cancelled.number]
    assert list(ledger_mismatches()) == []


def test_a_cancelled_orders_warehouse_can_go_on_a_new_list_only_if_reordered(warehouse, shelves):
    order = new_order((shelves[0], 1))
    logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)
    orders.cancel(order.pk, actor=SYSTEM, reason="duplicate")

    with pytest.raises(ValidationError):
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_operators_putting_one_order_on_pick_lists_at_once_make_one_list(warehouse, shelves):
    order = new_order((shelves[0], 1))
    operators = [staff("Warehouse operator") for _ in range(2)]

    outcomes = race(
        *[
            lambda operator=operator: logistics.create_pick_wave(warehouse.pk, [order.pk], actor=operator)
            for operator in operators
        ]
    )

    waves = [outcome for outcome in outcomes if isinstance(outcome, PickWave)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(waves) == 1 and len(refusals) == 1
    assert "already on a pick list" in " ".join(refusals[0].messages)
    assert order.shipments.count() == 1 and PickWave.objects.count() == 1
    assert fresh(order).events.filter(to_status=Status.PICKING).count() == 1


@pytest.mark.parametrize("role", ["Order reviewer", "Customer service", "Logistics coordinator", "Finance"])
def test_only_the_warehouse_and_managers_make_pick_lists(warehouse, shelves, role):
    order = new_order((shelves[0], 1))

    with pytest.raises(PermissionDenied):
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=staff(role))

    assert fresh(order).status == Status.CONFIRMED
    assert not Shipment.objects.exists()


def test_a_pick_list_costs_the_same_queries_for_many_orders_as_for_few(warehouse, shelves):
    def wave_of(order_count):
        order_ids = []
        for _ in range(order_count):
            extra = ProductFactory()
            stock(extra, warehouse, 1, bin_location="B-1")
            order_ids.append(new_order((shelves[0], 1), (shelves[1], 2), (extra, 1)).pk)
        return logistics.create_pick_wave(warehouse.pk, order_ids, actor=SYSTEM)

    small, large = wave_of(2), wave_of(12)

    def queries_for(wave):
        with CaptureQueriesContext(connection) as queries:
            selectors.pick_sheet(wave.pk)
        return len(queries)

    assert queries_for(large) == queries_for(small)


# --- the console -------------------------------------------------------------------------------


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def run_action(client, action, orders_):
    return client.post(ORDER_LIST, {"action": action, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orders_]})


def test_the_order_list_action_takes_the_selected_orders_to_the_warehouse_choice(client, warehouse, shelves):
    signed_in(client, "Warehouse operator")
    first, second = new_order((shelves[0], 1)), new_order((shelves[1], 1))

    response = run_action(client, "create_pick_list", [first, second])

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert [order.number for order in page.context["orders"]] == sorted([first.number, second.number])
    assert page.context["form"]["warehouse"].value() == warehouse.pk


def test_the_warehouse_where_most_orders_wait_is_preselected_and_the_others_say_why_not(client, shelves, warehouse):
    signed_in(client, "Warehouse operator")
    elsewhere = WarehouseFactory(code="SH", priority=0)
    stray = ProductFactory()
    stock(stray, elsewhere, 5)
    here = [new_order((shelves[0], 1)) for _ in range(2)]
    there = new_order((stray, 1))
    held = held_order(shelves[0])

    page = client.get(CREATE, {"orders": ",".join(str(o.pk) for o in here + [there, held])})

    assert page.context["form"]["warehouse"].value() == warehouse.pk
    option = next(o for o in page.context["options"] if o["warehouse"] == warehouse)
    assert sorted(option["pickable"]) == sorted(o.pk for o in here)
    reasons = {refused["number"]: refused["reason"] for refused in option["refused"]}
    assert "its goods wait in SH" in reasons[there.number]
    assert "Held for review" in reasons[held.number]
    assert there.number in page.content.decode()


def test_creating_the_list_leaves_out_orders_not_pickable_there_and_prints_it(client, warehouse, shelves):
    operator = signed_in(client, "Warehouse operator")
    first, second = new_order((shelves[0], 2)), new_order((shelves[0], 1), (shelves[1], 4))
    held = held_order(shelves[0])
    ids = ",".join(str(o.pk) for o in (first, second, held))

    response = client.post(CREATE, {"orders": ids, "warehouse": warehouse.pk, "leave_out": "on"})

    wave = PickWave.objects.get()
    assert response["Location"] == print_url(wave)
    assert wave.created_by == operator
    assert {fresh(first).status, fresh(second).status, fresh(held).status} == {Status.PICKING, Status.ON_HOLD}
    printed = client.get(print_url(wave))
    content = printed.content.decode()
    assert "@media print" in content
    assert [(row.bin_location, row.quantity) for row in printed.context["sheet"].rows] == [("A-2", 4), ("A-10", 3)]
    assert first.number in content and held.number not in content


def test_without_leaving_out_one_unpickable_order_stops_the_list_and_the_page_says_which(client, warehouse, shelves):
    signed_in(client, "Warehouse operator")
    good, held = new_order((shelves[0], 1)), held_order(shelves[0])

    response = client.post(CREATE, {"orders": f"{good.pk},{held.pk}", "warehouse": warehouse.pk})

    assert response.status_code == 200
    assert held.number in " ".join(response.context["form"].non_field_errors())
    assert not PickWave.objects.exists()
    assert fresh(good).status == Status.CONFIRMED


def test_the_create_page_without_orders_sends_the_operator_to_the_order_list(client):
    signed_in(client, "Warehouse operator")

    for query in ({}, {"orders": "1,x"}, {"orders": ",".join(str(n) for n in range(1, 600))}):
        response = client.get(CREATE, query)
        assert response.context["no_orders"] is True
        assert PickWave.objects.count() == 0


def test_the_pick_list_page_lists_pick_lists_with_their_counts(client, warehouse, shelves):
    signed_in(client, "Warehouse operator")
    wave = logistics.create_pick_wave(
        warehouse.pk, [new_order((shelves[0], 2)).pk, new_order((shelves[1], 3)).pk], actor=SYSTEM
    )

    response = client.get(reverse("admin:logistics_pickwave_changelist"))

    (listed,) = response.context["cl"].result_list
    assert (listed.pk, listed.order_count, listed.unit_count, listed.to_pack_count) == (wave.pk, 2, 5, 2)
    assert print_url(wave) in response.content.decode()


def test_the_order_page_offers_a_pick_list_for_warehouses_not_on_one_yet(client, split_stock):
    near, far, shirt, socks = split_stock
    signed_in(client, "Warehouse operator")
    order = new_order((shirt, 1), (socks, 1))
    page = reverse("admin:orders_order_change", args=[order.pk])

    def pick_list_step():
        return [s["url"] for s in client.get(page).context["steps"] if s["name"] == "pick_list"]

    assert pick_list_step() == [f"{CREATE}?orders={order.pk}"]
    logistics.create_pick_wave(near.pk, [order.pk], actor=SYSTEM)
    assert pick_list_step() == [f"{CREATE}?orders={order.pk}"]
    logistics.create_pick_wave(far.pk, [order.pk], actor=SYSTEM)
    assert pick_list_step() == []


def test_the_order_page_offers_no_pick_list_to_roles_that_do_not_pick(client, warehouse, shelves):
    signed_in(client, "Logistics coordinator")
    order = new_order((shelves[0], 1))

    steps = client.get(reverse("admin:orders_order_change", args=[order.pk])).context["steps"]

    assert "pick_list" not in [step["name"] for step in steps]


@pytest.mark.parametrize("role", ["Order reviewer", "Logistics coordinator", "Customer service"])
def test_roles_that_do_not_pick_neither_see_the_action_nor_reach_the_page(client, warehouse, shelves, role):
    signed_in(client, role)
    order = new_order((shelves[0], 1))

    action_form = client.get(ORDER_LIST).context["action_form"]
    assert action_form is None or "create_pick_list" not in dict(action_form.fields["action"].choices)
    assert client.get(CREATE, {"orders": str(order.pk)}).status_code == 403
    assert client.post(CREATE, {"orders": str(order.pk), "warehouse": warehouse.pk}).status_code == 403
    assert fresh(order).status == Status.CONFIRMED


def test_the_printable_page_costs_the_same_queries_for_many_orders_as_for_few(client, warehouse, shelves):
    signed_in(client, "Warehouse operator")
    small = logistics.create_pick_wave(warehouse.pk, [new_order((shelves[0], 1)).pk], actor=SYSTEM)
    large = logistics.create_pick_wave(
        warehouse.pk, [new_order((shelves[0], 1), (shelves[1], 1)).pk for _ in range(10)], actor=SYSTEM
    )

    def queries_for(wave):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(print_url(wave)).status_code == 200
        return len(queries)

    assert queries_for(large) == queries_for(small)


def test_the_order_cancelled_after_printing_is_flagged_on_the_reprint(client, warehouse, shelves):
    signed_in(client, "Warehouse operator")
    order = new_order((shelves[0], 1))
    wave = logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM)
    orders.cancel(order.pk, actor=SYSTEM, reason="duplicate")

    content = client.get(print_url(wave)).content.decode()

    assert "do not pick" in content and order.number in content
