"""Merging orders of one buyer to one address into one parcel (docs/architecture.md, "Merging
orders"): the queue that finds them, the merge and unmerge, one pick, one pack, one label, one
tracking number reported to every merged order, cancelling one of them, and archiving."""

from itertools import count

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import Shipment, ShipmentLine
from orders import selectors
from orders import services as orders
from orders.models import Allocation, IntakeSettings, Order, OrderNote
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    channel_client,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db

Status = Order.Status
_buyers = count(1)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def kettle(warehouse):
    product = ProductFactory(sku="KETTLE")
    stock(product, warehouse, 50)
    return product


@pytest.fixture
def mug(warehouse):
    product = ProductFactory(sku="MUG")
    stock(product, warehouse, 50)
    return product


@pytest.fixture
def channel():
    return ChannelFactory()


def buyer():
    """The phone and address of a buyer of its own."""
    n = next(_buyers)
    return {"phone": f"1370000{n:04d}", "address": f"延安路 {n} 号"}


def pair(channel, kettle, mug, **extra):
    """Two confirmed orders of one buyer to one address on one channel."""
    who = buyer()
    first = place(channel, lines=[(kettle, 1)], **who, **extra)
    second = place(channel, lines=[(mug, 2)], **who, **extra)
    assert first.status == second.status == Status.CONFIRMED
    return first, second


def fresh(order):
    return Order.objects.get(pk=order.pk)


def assert_stock_consistent():
    assert list(ledger_mismatches()) == []


# The queue ---------------------------------------------------------------------------------------


def test_queue_offers_confirmed_orders_of_one_buyer_to_one_address(channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    place(channel, lines=[(kettle, 1)], **buyer())  # someone else: not offered

    groups = selectors.merge_groups(across_channels=False)

    assert [group.order_ids for group in groups] == [[first.pk, second.pk]]


def test_queue_keeps_channels_apart_unless_the_setting_merges_across(kettle, mug):
    who = buyer()
    first = place(ChannelFactory(), lines=[(kettle, 1)], **who)
    second = place(ChannelFactory(code="app", name="App"), lines=[(mug, 1)], **who)

    assert selectors.merge_groups(across_channels=False) == []
    assert [g.order_ids for g in selectors.merge_groups(across_channels=True)] == [[first.pk, second.pk]]


def test_queue_leaves_out_held_orders_and_merged_groups(channel, kettle, mug):
    who = buyer()
    place(channel, lines=[(kettle, 1)], **who)
    held = place(channel, lines=[(kettle, 1)], **{**who, "city": "", "district": ""})
    assert held.status == Status.ON_HOLD
    # One confirmed order and one held for review: nothing to offer until a reviewer approves it.
    assert selectors.merge_groups(across_channels=False) == []

    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    assert selectors.merge_groups(across_channels=False) == []


# Merging and unmerging ---------------------------------------------------------------------------


def test_merge_keeps_each_orders_number_lines_payment_and_channel_id(channel, kettle, mug):
    first, second = pair(channel, kettle, mug)

    merge = orders.merge_orders([second.pk, first.pk], actor=staff("Order reviewer"))

    first, second = fresh(first), fresh(second)
    assert first.merge == second.merge == merge
    assert (first.number, first.channel_order_id, first.total) != (second.number, second.channel_order_id, 0)
    assert [line.sku for line in second.lines.all()] == ["MUG"]
    assert OrderNote.objects.filter(order=first, text__contains=second.number).exists()


def test_merge_refuses_orders_that_do_not_match_with_every_reason(channel, kettle, mug):
    first = place(channel, lines=[(kettle, 1)], **buyer())
    other = place(ChannelFactory(code="app", name="App"), lines=[(mug, 1)], **buyer())

    with pytest.raises(ValidationError) as refused:
        orders.merge_orders([first.pk, other.pk], actor=SYSTEM)

    text = " ".join(refused.value.messages)
    assert "different phone numbers" in text
    assert "different addresses" in text
    assert "different channels" in text
    assert fresh(first).merge is None and fresh(other).merge is None


def test_merge_refuses_a_held_order(channel, kettle, mug):
    who = buyer()
    first = place(channel, lines=[(kettle, 1)], **who)
    held = place(channel, lines=[(mug, 1)], **who, city="", district="")
    assert held.status == Status.ON_HOLD

    with pytest.raises(ValidationError, match=f"Order {held.number} is Held for review"):
        orders.merge_orders([first.pk, held.pk], actor=SYSTEM)


def test_merge_refuses_orders_whose_goods_wait_in_different_warehouses(channel, kettle):
    other_warehouse = WarehouseFactory(priority=99)
    lamp = ProductFactory(sku="LAMP")
    stock(lamp, other_warehouse, 5)
    who = buyer()
    first = place(channel, lines=[(kettle, 1)], **who)
    second = place(channel, lines=[(lamp, 1)], **who)

    with pytest.raises(ValidationError, match="different ones"):
        orders.merge_orders([first.pk, second.pk], actor=SYSTEM)


def test_only_roles_with_the_permission_merge(channel, kettle, mug):
    first, second = pair(channel, kettle, mug)

    with pytest.raises(Exception, match="may not merge"):
        orders.merge_orders([first.pk, second.pk], actor=staff("Warehouse operator"))


def test_a_third_order_joins_the_existing_merge(channel, kettle, mug):
    who = buyer()
    first = place(channel, lines=[(kettle, 1)], **who)
    second = place(channel, lines=[(mug, 1)], **who)
    merge = orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    third = place(channel, lines=[(mug, 1)], **who)

    assert [g.order_ids for g in selectors.merge_groups(across_channels=False)] == [[first.pk, second.pk, third.pk]]
    assert orders.merge_orders([third.pk, first.pk], actor=SYSTEM) == merge
    assert fresh(third).merge == merge


def test_unmerge_before_picking_gives_each_order_its_own_parcel(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    merge = orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    orders.unmerge_orders(merge.pk, actor=SYSTEM)
    wave = logistics.create_pick_wave(warehouse.pk, [first.pk, second.pk], actor=SYSTEM)

    assert fresh(first).merge is None and fresh(second).merge is None
    assert wave.shipments.count() == 2


def test_unmerge_is_refused_once_picking_started(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    merge = orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM)

    with pytest.raises(ValidationError, match="only before picking"):
        orders.unmerge_orders(merge.pk, actor=SYSTEM)


# One parcel --------------------------------------------------------------------------------------


def pick_pack_dispatch(first, warehouse, carrier):
    wave = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM)
    (parcel,) = wave.shipments.all()
    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1.5", package_count=1, actor=SYSTEM)
    number = tracking_number()
    logistics.dispatch(parcel.pk, carrier_id=carrier.pk, tracking_number=number, actor=SYSTEM)
    return Shipment.objects.get(pk=parcel.pk), number


def test_merged_orders_are_picked_packed_and_shipped_as_one_parcel(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    wave = logistics.create_pick_wave(warehouse.pk, [second.pk], actor=SYSTEM)

    (parcel,) = wave.shipments.all()
    assert parcel.order_id == first.pk
    assert sorted(parcel.lines.values_list("order_line__order_id", flat=True)) == [first.pk, second.pk]
    assert fresh(first).status == fresh(second).status == Status.PICKING

    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1.5", package_count=1, actor=SYSTEM)
    assert fresh(first).status == fresh(second).status == Status.PACKED

    carrier = CarrierFactory()
    logistics.dispatch(parcel.pk, carrier_id=carrier.pk, tracking_number="SF5550000000023", actor=SYSTEM)
    assert fresh(first).status == fresh(second).status == Status.SHIPPED
    assert not Allocation.objects.filter(line__order__in=[first, second], state=Allocation.State.RESERVED).exists()
    assert StockLevel.objects.get(product=kettle).on_hand == 49
    assert StockLevel.objects.get(product=mug).on_hand == 48
    assert_stock_consistent()
    assert Shipment.objects.count() == 1

    logistics.record_tracking_event(
        parcel.pk, status="delivered", occurred_at=timezone.now(), source="console", actor=SYSTEM
    )
    assert fresh(first).status == fresh(second).status == Status.DELIVERED


def test_every_merged_order_is_told_its_tracking_number(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    _parcel, number = pick_pack_dispatch(first, warehouse, CarrierFactory())

    for order in (first, second):
        assert order.notifications.filter(event="order_shipped").exists()


def test_api_answer_of_each_merged_order_shows_the_one_tracking_number(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    _parcel, number = pick_pack_dispatch(first, warehouse, CarrierFactory())
    api = channel_client(channel)

    answers = {order.number: api.get(f"/api/v1/orders/{order.number}/").json() for order in (first, second)}

    for order_number, answer in answers.items():
        (shipment,) = answer["shipments"]
        assert shipment["tracking_number"] == number, order_number
    # Each order's answer lists only its own goods in the shared parcel.
    assert [line["sku"] for line in answers[first.number]["shipments"][0]["lines"]] == ["KETTLE"]
    assert [line["sku"] for line in answers[second.number]["shipments"][0]["lines"]] == ["MUG"]


def test_order_page_of_each_merged_order_shows_the_parcel(client, channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    _parcel, number = pick_pack_dispatch(first, warehouse, CarrierFactory())
    client.force_login(staff("Customer service"))

    for order in (first, second):
        page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
        shipments = page[page.index('id="oc-shipments"') : page.index('id="oc-payments"')]
        assert number in shipments, order.number
    assert first.number in shipments  # the second order's page names the order it travels with


def test_packing_slip_lists_each_merged_orders_number_and_lines(client, channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    wave = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM)
    (parcel,) = wave.shipments.all()
    client.force_login(staff("Warehouse operator"))

    slip = client.get(reverse("admin:logistics_shipment_packing_slip", args=[parcel.pk])).content.decode()

    assert first.number in slip and second.number in slip
    assert "KETTLE" in slip and "MUG" in slip


# Cancelling one merged order ---------------------------------------------------------------------


def test_cancelling_a_merged_order_before_picking_unmerges_it(channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    orders.cancel(second.pk, actor=staff("Customer service"), reason="customer changed their mind")

    assert fresh(second).merge is None
    assert fresh(first).merge is None  # alone, it is no longer merged
    assert OrderNote.objects.filter(order=second, text__contains="customer changed their mind").exists()
    assert_stock_consistent()


def test_cancelling_a_merged_order_after_picking_takes_its_goods_out_of_the_parcel(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    (parcel,) = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM).shipments.all()

    orders.cancel(first.pk, actor=staff("Customer service"), reason="duplicate")

    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.PENDING
    assert parcel.order_id == second.pk
    assert list(ShipmentLine.objects.filter(shipment=parcel).values_list("order_line__order_id", flat=True)) == [
        second.pk
    ]
    assert StockLevel.objects.get(product=kettle).reserved == 0
    assert_stock_consistent()
    # The other order still ships in it.
    logistics.pack_item(parcel.pk, "MUG", actor=SYSTEM)
    logistics.pack_item(parcel.pk, "MUG", actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1", package_count=1, actor=SYSTEM)
    logistics.dispatch(parcel.pk, carrier_id=CarrierFactory().pk, tracking_number=tracking_number(), actor=SYSTEM)
    assert fresh(second).status == Status.SHIPPED
    assert fresh(first).status == Status.CANCELLED


def test_cancelling_a_merged_order_whose_parcel_is_packed_is_refused(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    (parcel,) = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM).shipments.all()
    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="1.5", package_count=1, actor=SYSTEM)

    with pytest.raises(TransitionRefused, match="already packed"):
        orders.cancel(second.pk, actor=staff("Customer service"), reason="too late")

    assert fresh(second).status == Status.PACKED
    assert fresh(second).merge_id is not None


# Detection index ---------------------------------------------------------------------------------


def test_merge_candidate_index_covers_exactly_the_statuses_before_picking():
    (index,) = [i for i in Order._meta.indexes if i.name == "order_merge_candidates"]
    assert sorted(dict(index.condition.children)["status__in"]) == sorted(Order.BEFORE_PICKING)
    assert set(Order.MERGEABLE) <= set(Order.BEFORE_PICKING)


def test_the_setting_allows_merging_across_channels(kettle, mug):
    who = buyer()
    first = place(ChannelFactory(), lines=[(kettle, 1)], **who)
    second = place(ChannelFactory(code="app", name="App"), lines=[(mug, 1)], **who)
    with pytest.raises(ValidationError, match="different channels"):
        orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    settings = IntakeSettings.current()
    settings.merge_across_channels = True
    settings.save()

    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)

    assert fresh(first).merge_id == fresh(second).merge_id is not None


# The console -------------------------------------------------------------------------------------

QUEUE = reverse("admin:orders_order_merge_queue")
ORDER_LIST = reverse("admin:orders_order_changelist")


def test_queue_page_lists_groups_with_masked_contacts_for_roles_that_see_them_masked(client, channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    client.force_login(staff("Analyst"))

    page = client.get(QUEUE).content.decode()

    assert first.number in page and second.number in page
    assert first.phone[-4:] in page and first.phone not in page  # masked: +86 137****0001
    assert "延安路" not in page  # the street is masked for analysts
    assert 'name="orders"' not in page  # analysts may not merge: no button


def test_merge_button_on_the_queue_page_merges_the_group(client, channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    client.force_login(staff("Order reviewer"))
    page = client.get(QUEUE).content.decode()
    assert f'value="{first.pk},{second.pk}"' in page

    answer = client.post(reverse("admin:orders_order_merge_group"), {"orders": f"{first.pk},{second.pk}"}, follow=True)

    assert fresh(first).merge_id == fresh(second).merge_id is not None
    assert "Merged into one parcel" in answer.content.decode()
    assert "Unmerge" in answer.content.decode()


def test_unmerge_button_on_the_queue_page(client, channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    merge = orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    client.force_login(staff("Customer service"))

    client.post(reverse("admin:orders_order_unmerge_group", args=[merge.pk]))

    assert fresh(first).merge is None and fresh(second).merge is None


def test_bulk_merge_action_refuses_orders_that_do_not_match_with_reasons(client, channel, kettle, mug):
    first = place(channel, lines=[(kettle, 1)], **buyer())
    other = place(channel, lines=[(mug, 1)], **buyer())
    client.force_login(staff("Order reviewer"))

    answer = client.post(
        ORDER_LIST, {"action": "merge_selected", "_selected_action": [first.pk, other.pk]}, follow=True
    ).content.decode()

    assert "Nothing was merged" in answer and "different addresses" in answer
    assert fresh(first).merge is None


def test_bulk_merge_action_merges_matching_orders(client, channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    client.force_login(staff("Order reviewer"))

    client.post(ORDER_LIST, {"action": "merge_selected", "_selected_action": [first.pk, second.pk]})

    assert fresh(first).merge_id == fresh(second).merge_id is not None


# Archive: a merged group is archived together --------------------------------------------------

LONG_AGO = timezone.now() - timezone.timedelta(days=800)


def delivered_merged_pair(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    parcel, _number = pick_pack_dispatch(first, warehouse, CarrierFactory())
    logistics.mark_delivered(parcel.pk, actor=SYSTEM)
    return fresh(first), fresh(second), parcel


def test_a_merged_group_waits_for_archiving_until_every_order_of_it_may_go(channel, kettle, mug, warehouse):
    first, second, parcel = delivered_merged_pair(channel, kettle, mug, warehouse)
    orders.complete(first.pk, actor=SYSTEM)
    Order.objects.filter(pk=first.pk).update(completed_at=LONG_AGO)

    # The second order is delivered, not completed: the first waits with it.
    assert orders.archive_finished_orders(actor=SYSTEM) == 0
    assert Order.objects.filter(pk=first.pk).exists()

    orders.complete(second.pk, actor=SYSTEM)
    Order.objects.filter(pk=second.pk).update(completed_at=LONG_AGO)
    assert orders.archive_finished_orders(actor=SYSTEM, batch_size=1) == 2

    assert not Order.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not Shipment.objects.filter(pk=parcel.pk).exists()
    from orders.models import ArchivedOrder

    kept = ArchivedOrder.objects.get(pk=first.pk)
    assert [row["id"] for row in kept.rows["logistics.shipment"]] == [parcel.pk]
    assert len(kept.rows["logistics.shipmentline"]) == 2
    # Each archived order's kept API answer shows the one tracking number.
    for archived in ArchivedOrder.objects.all():
        assert archived.api_answer["shipments"][0]["tracking_number"] == parcel.tracking_number


# Rollups ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_parcel_for_two_orders_keeps_the_rollups_exact(kettle, mug, warehouse):
    from tests.test_rollups_bulk_writers import assert_counted_exactly, assert_rebuild_agrees

    channel = ChannelFactory()
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    carrier = CarrierFactory()
    wave = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM)
    (parcel,) = wave.shipments.all()
    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=SYSTEM)

    assert_counted_exactly(lambda: logistics.finish_packing(parcel.pk, weight_kg="1.5", package_count=1, actor=SYSTEM))
    assert_counted_exactly(
        lambda: logistics.dispatch(parcel.pk, carrier_id=carrier.pk, tracking_number=tracking_number(), actor=SYSTEM)
    )
    assert_counted_exactly(lambda: logistics.mark_delivered(parcel.pk, actor=SYSTEM))
    assert fresh(first).status == fresh(second).status == Status.DELIVERED
    assert_rebuild_agrees()


def test_a_manager_turns_merging_across_channels_on_in_the_intake_settings(client):
    client.force_login(staff("Manager"))
    url = reverse("admin:orders_intakesettings_change", args=[IntakeSettings.current().pk])
    page = client.get(url).content.decode()
    assert 'name="merge_across_channels"' in page


def test_pick_list_names_each_line_by_its_own_order_and_the_parcel_by_all_its_orders(
    client, channel, kettle, mug, warehouse
):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    wave = logistics.create_pick_wave(warehouse.pk, [first.pk], actor=SYSTEM)
    from logistics.selectors import pick_sheet

    sheet = pick_sheet(wave.pk)

    assert {row.sku: row.for_orders for row in sheet.rows} == {
        "KETTLE": f"{first.number}\u00a0×1",
        "MUG": f"{second.number}\u00a0×2",
    }
    assert [order.number for order in sheet.orders] == [f"{first.number} + {second.number}"]


def test_the_one_label_of_a_merged_parcel_names_the_other_orders(client, channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    parcel, number = pick_pack_dispatch(first, warehouse, CarrierFactory())
    client.force_login(staff("Warehouse operator"))

    label = client.get(reverse("admin:logistics_shipment_label", args=[parcel.pk])).content.decode()

    assert number in label and first.number in label and second.number in label


def test_moving_a_warehouses_work_leaves_merged_orders_with_why(channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    other = WarehouseFactory(code="NB", priority=50)
    stock(kettle, other, 10)
    stock(mug, other, 10)

    moved = logistics.move_open_work(warehouse.pk, other.pk, reason="flood", actor=staff("Manager"))

    assert moved.done == []
    assert "merged with other orders" in moved.left[first.number]
    assert Allocation.objects.filter(line__order=second, stock_level__warehouse=warehouse).exists()


def test_the_public_tracking_page_of_each_merged_order_shows_the_one_parcel(client, channel, kettle, mug, warehouse):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=SYSTEM)
    _parcel, number = pick_pack_dispatch(first, warehouse, CarrierFactory())

    for order in (first, second):
        page = client.post("/track/", {"order": order.number, "phone_last_four": order.phone[-4:]})
        assert number in page.content.decode(), order.number


def test_a_merged_parcel_with_a_cash_on_delivery_order_keeps_a_carrier_that_collects(channel, kettle, mug, warehouse):
    from tests.factories import CarrierServiceFactory

    who = buyer()
    prepaid = place(channel, lines=[(kettle, 1)], **who, payment_method="e_wallet", paid_amount=kettle.unit_price)
    cod = place(channel, lines=[(mug, 1)], **who)
    assert cod.collects_on_delivery and not prepaid.collects_on_delivery
    orders.merge_orders([prepaid.pk, cod.pk], actor=SYSTEM)
    (parcel,) = logistics.create_pick_wave(warehouse.pk, [prepaid.pk], actor=SYSTEM).shipments.all()
    assert parcel.order_id == prepaid.pk
    no_cash = CarrierServiceFactory(supports_cod=False)

    with pytest.raises(ValidationError, match="cash on delivery"):
        logistics.choose_carrier(parcel.pk, no_cash.pk, actor=staff("Logistics coordinator"))


def test_a_merged_order_cannot_be_split_until_it_is_unmerged(channel, kettle, mug):
    first, second = pair(channel, kettle, mug)
    orders.merge_orders([first.pk, second.pk], actor=staff("Order reviewer"))
    line = second.lines.get()

    with pytest.raises(TransitionRefused, match="unmerge it before splitting"):
        orders.split_off(second.pk, {line.pk: 1}, actor=staff("Customer service"))
    with pytest.raises(TransitionRefused, match="unmerge it before splitting"):
        orders.ship_later(second.pk, {line.pk: 1}, actor=staff("Customer service"))
    assert fresh(second).lines.get().quantity == 2
