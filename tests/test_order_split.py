"""Splitting an order by hand before picking: units held back for a later parcel (the first parcel
leaves the order partially shipped, the rest goes on a later pick list), or taken out into a new
linked order with their reservations and their share of the money; and the console's "Split" page."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from core.transitions import TransitionRefused
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics.models import Shipment, ShipmentLine
from orders import services as orders
from orders.models import Allocation, Order, OrderEvent, Payment
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    channel_client,
    dispatch_all,
    pick_all,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

Status = Order.Status


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def shirt(warehouse):
    item = ProductFactory(unit_price=Decimal("25.00"))
    stock(item, warehouse, 10)
    return item


@pytest.fixture
def mug(warehouse):
    item = ProductFactory(unit_price=Decimal("10.00"))
    stock(item, warehouse, 5)
    return item


@pytest.fixture
def service():
    return staff("Customer service")


def fresh(order):
    return Order.objects.get(pk=order.pk)


def line_of(order, product):
    return order.lines.get(product=product)


def assert_ledger_whole():
    assert list(ledger_mismatches()) == []


# --- a second parcel, later -------------------------------------------------------------------------


def test_units_held_back_stay_reserved_and_stay_off_the_first_pick_list(shirt, mug, service):
    order = place(lines=[(shirt, 3), (mug, 1)])
    orders.ship_later(order.pk, {line_of(order, shirt).pk: 2}, actor=service)
    assert StockLevel.objects.get(product=shirt).reserved == 3
    later = Allocation.objects.get(line__order=order, ship_later=True)
    assert later.quantity == 2 and later.state == Allocation.State.RESERVED
    pick_all(order)
    picked = dict(ShipmentLine.objects.filter(shipment__order=order).values_list("order_line__sku", "quantity"))
    assert picked == {shirt.sku: 1, mug.sku: 1}
    assert OrderEvent.objects.filter(order=order, transition="ship_later", actor=service).exists()


def test_the_first_parcel_leaves_the_order_partially_shipped_and_the_rest_goes_later(shirt, mug, service):
    order = place(lines=[(shirt, 3), (mug, 1)])
    orders.ship_later(order.pk, {line_of(order, shirt).pk: 2}, actor=service)
    dispatch_all(order)
    assert fresh(order).status == Status.PARTIALLY_SHIPPED
    assert StockLevel.objects.get(product=shirt).reserved == 2
    orders.release_ship_later(order.pk, actor=service)
    dispatch_all(order)
    assert fresh(order).status == Status.SHIPPED
    shipped = Shipment.objects.filter(order=order, status=Shipment.Status.SHIPPED)
    assert shipped.count() == 2
    assert StockLevel.objects.get(product=shirt).reserved == 0
    assert_ledger_whole()


def test_goods_held_back_cannot_be_released_while_their_parcel_waits(shirt, mug, service):
    order = place(lines=[(shirt, 3), (mug, 1)])
    orders.ship_later(order.pk, {line_of(order, shirt).pk: 2}, actor=service)
    pick_all(order)
    with pytest.raises(TransitionRefused, match="still has a parcel to send"):
        orders.release_ship_later(order.pk, actor=service)


def test_at_least_one_unit_is_left_for_the_first_parcel(shirt, service):
    order = place(lines=[(shirt, 2)])
    with pytest.raises(ValidationError, match="at least one unit"):
        orders.ship_later(order.pk, {line_of(order, shirt).pk: 2}, actor=service)


# --- a new linked order -------------------------------------------------------------------------------


def test_split_off_moves_lines_and_their_reservations_to_a_linked_order(shirt, mug, service):
    order = place(lines=[(shirt, 3), (mug, 2)], shipping_fee="8.00")
    movements = StockMovement.objects.count()
    result = orders.split_off(order.pk, {line_of(order, shirt).pk: 1, line_of(order, mug).pk: 2}, actor=service)
    new, order = result.new_order, fresh(order)
    assert new.split_from == order and new.number and new.number != order.number
    assert new.channel_order_id == f"{order.channel_order_id}-S1"
    assert new.status == Status.CONFIRMED
    assert sorted((line.sku, line.quantity) for line in new.lines.all()) == sorted([(shirt.sku, 1), (mug.sku, 2)])
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [(shirt.sku, 2)]
    # The reservations moved: nothing released or reserved again.
    assert StockMovement.objects.count() == movements
    assert sum(a.quantity for a in Allocation.objects.filter(line__order=new, state="reserved")) == 3
    assert sum(a.quantity for a in Allocation.objects.filter(line__order=order, state="reserved")) == 2
    assert (new.subtotal, new.shipping_fee, new.total) == (Decimal("45.00"), Decimal("0.00"), Decimal("45.00"))
    assert (order.subtotal, order.shipping_fee, order.total) == (Decimal("50.00"), Decimal("8.00"), Decimal("58.00"))
    assert OrderEvent.objects.filter(order=order, transition="split").exists()
    assert OrderEvent.objects.filter(order=new, transition="split").exists()
    assert_ledger_whole()


def test_a_second_split_gets_the_next_channel_order_id(shirt, service):
    order = place(lines=[(shirt, 3)])
    first = orders.split_off(order.pk, {line_of(order, shirt).pk: 1}, actor=service).new_order
    second = orders.split_off(order.pk, {line_of(order, shirt).pk: 1}, actor=service).new_order
    assert (first.channel_order_id, second.channel_order_id) == (
        f"{order.channel_order_id}-S1",
        f"{order.channel_order_id}-S2",
    )


def test_the_captured_money_follows_the_units_as_part_of_the_payment(shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 1)], payment_method="card", paid_amount="60.00", payment_reference="TX-1")
    new = orders.split_off(order.pk, {line_of(order, mug).pk: 1}, actor=service).new_order
    order = fresh(order)
    moved = Payment.objects.get(order=new)
    original = Payment.objects.get(order=order)
    assert (moved.amount, original.amount) == (Decimal("10.00"), Decimal("50.00"))
    assert moved.transferred_from == original and moved.reference == "TX-1"
    assert moved.created_at == original.created_at
    assert (order.amount_paid, order.payment_status) == (Decimal("50.00"), Order.PaymentStatus.PAID)
    assert (new.amount_paid, new.payment_status) == (Decimal("10.00"), Order.PaymentStatus.PAID)


def test_the_discount_is_shared_and_the_totals_add_up(shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 5)], discount="10.00", actor=staff("Manager"))
    total = order.total
    new = orders.split_off(order.pk, {line_of(order, mug).pk: 5}, actor=service).new_order
    order = fresh(order)
    assert new.discount == Decimal("5.00") and order.discount == Decimal("5.00")
    assert order.total + new.total == total


def test_all_units_cannot_be_split_off(shirt, service):
    order = place(lines=[(shirt, 2)])
    with pytest.raises(ValidationError, match="at least one unit"):
        orders.split_off(order.pk, {line_of(order, shirt).pk: 2}, actor=service)


def test_an_order_on_a_pick_list_cannot_be_split(shirt, service):
    order = place(lines=[(shirt, 2)])
    pick_all(order)
    with pytest.raises(TransitionRefused, match="Picking"):
        orders.split_off(order.pk, {line_of(order, shirt).pk: 1}, actor=service)


def test_the_rollups_agree_after_a_split(shirt, mug, service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(lines=[(shirt, 2), (mug, 1)], payment_method="card", paid_amount="60.00")
    with django_capture_on_commit_callbacks(execute=True):
        orders.split_off(order.pk, {line_of(order, mug).pk: 1}, actor=service)
    call_command("rebuild_rollups", "--check", stdout=StringIO())


def test_the_channel_api_shows_the_original_with_its_remaining_lines(shirt, mug, service):
    channel = ChannelFactory()
    order = place(channel, lines=[(shirt, 2), (mug, 1)])
    orders.split_off(order.pk, {line_of(order, mug).pk: 1}, actor=service)
    client = channel_client(channel)
    answer = client.get(f"/api/v1/orders/{order.number}/")
    assert answer.status_code == 200
    body = answer.json()
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [(shirt.sku, 2)]
    assert Decimal(body["total"]) == Decimal("50.00")


# --- the console ---------------------------------------------------------------------------------------


def split_url(order):
    return reverse("admin:orders_order_split", args=[order.pk])


def test_the_split_page_makes_a_linked_order_shown_on_both_pages(client, shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 1)])
    client.force_login(service)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert split_url(order) in page
    assert client.get(split_url(order)).status_code == 200
    answer = client.post(
        split_url(order),
        {"seen": order.updated_at.isoformat(), "mode": "new_order", f"units-{line_of(order, mug).pk}": "1"},
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    new = Order.objects.get(split_from=order)
    assert new.number in client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert order.number in client.get(reverse("admin:orders_order_change", args=[new.pk])).content.decode()


def test_the_split_page_tells_the_second_operator_the_order_changed(client, shirt, service):
    order = place(lines=[(shirt, 3)])
    client.force_login(service)
    data = {"seen": order.updated_at.isoformat(), "mode": "later", f"units-{line_of(order, shirt).pk}": "1"}
    assert client.post(split_url(order), data).status_code == 302
    answer = client.post(split_url(order), data, follow=True)
    assert "changed while you were looking" in answer.content.decode()
    assert Allocation.objects.filter(line__order=order, ship_later=True).count() == 1


def test_dispatching_ignores_units_held_back(shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 1)])
    orders.ship_later(order.pk, {line_of(order, mug).pk: 1}, actor=service)
    dispatch_all(order, carrier=CarrierFactory())
    assert StockLevel.objects.get(product=mug).reserved == 1
    assert StockLevel.objects.get(product=mug).on_hand == 5


def test_an_original_stays_live_while_an_order_split_from_it_is(shirt, service):
    from datetime import timedelta

    from django.utils import timezone

    order = place(lines=[(shirt, 3)])
    new = orders.split_off(order.pk, {line_of(order, shirt).pk: 1}, actor=service).new_order
    orders.cancel(order.pk, actor=service, reason="customer changed their mind")
    later = timezone.now() + timedelta(days=1)
    assert order.pk not in set(orders.archivable_orders(later).values_list("pk", flat=True))
    orders.cancel(new.pk, actor=service, reason="customer changed their mind")
    assert {order.pk, new.pk} - set(orders.archivable_orders(later).values_list("pk", flat=True)) == {order.pk}


def test_the_new_orders_statement_says_where_its_payment_came_from(client, shirt, mug, service):
    order = place(lines=[(shirt, 2), (mug, 1)], payment_method="card", paid_amount="60.00")
    new = orders.split_off(order.pk, {line_of(order, mug).pk: 1}, actor=service).new_order
    client.force_login(staff("Finance"))
    page = client.get(reverse("admin:orders_order_statement", args=[new.pk])).content.decode()
    assert f"part of a payment to {order.number}" in page
