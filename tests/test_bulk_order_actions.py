"""Bulk actions of the order list: a note on many orders, moving orders' reserved stock to another
warehouse before picking, choosing the carrier service of chosen orders (kept for the next pick list
or put on their open parcels), printing their slips and labels; as each role, with a summary."""

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from core.actors import SYSTEM
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics import services as logistics
from logistics.models import CarrierChoice, CarrierService, Shipment
from orders import services as orders
from orders.models import Allocation, Order, OrderNote
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    pack_all,
    pick_all,
    place,
    staff,
    stock,
)

Status = Order.Status


@pytest.fixture
def two_warehouses():
    return WarehouseFactory(code="HZ", priority=1), WarehouseFactory(code="SH", priority=2)


def reserved_in(order):
    return sorted(
        Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED).values_list(
            "stock_level__warehouse__code", "quantity"
        )
    )


def level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


# --- notes ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_note_is_added_to_every_chosen_order():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 10)
    first, second = place(lines=[(product, 1)]), place(lines=[(product, 1)])
    service = staff("Customer service")

    notes = orders.add_notes([first.pk, second.pk], author=service, text="  Customer called: leave at the door ")

    assert len(notes) == 2
    assert sorted(OrderNote.objects.values_list("order_id", "text", "author")) == [
        (first.pk, "Customer called: leave at the door", service.pk),
        (second.pk, "Customer called: leave at the door", service.pk),
    ]


@pytest.mark.django_db
def test_an_empty_note_is_refused_for_all():
    product = ProductFactory()
    stock(product, WarehouseFactory(), 10)
    order = place(lines=[(product, 1)])
    with pytest.raises(ValidationError):
        orders.add_notes([order.pk], author=staff("Customer service"), text="   ")
    assert not OrderNote.objects.exists()


# --- change warehouse ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_changing_warehouse_moves_the_reservation_and_the_ledger_agrees(two_warehouses):
    hangzhou, shanghai = two_warehouses
    product = ProductFactory(sku="TEA-1")
    stock(product, hangzhou, 5)
    stock(product, shanghai, 5)
    order = place(lines=[(product, 2)])
    assert reserved_in(order) == [("HZ", 2)]

    result = orders.change_warehouse([order.pk], shanghai.pk, actor=staff("Logistics coordinator"))

    assert (result.done, result.refused) == ([order.number], {})
    assert reserved_in(order) == [("SH", 2)]
    assert (level(product, hangzhou).reserved, level(product, shanghai).reserved) == (0, 2)
    assert list(ledger_mismatches()) == []
    assert StockMovement.objects.filter(reference=order.number, stock_level__warehouse=shanghai).exists()
    assert OrderNote.objects.filter(order=order, text__contains="SH").exists()


@pytest.mark.django_db
def test_changing_warehouse_refuses_naming_the_sku_the_other_lacks_and_moves_nothing_of_that_order(two_warehouses):
    hangzhou, shanghai = two_warehouses
    tea, cup = ProductFactory(sku="TEA-1"), ProductFactory(sku="CUP-9")
    for product in (tea, cup):
        stock(product, hangzhou, 5)
    stock(tea, shanghai, 5)
    stock(cup, shanghai, 1)
    short = place(lines=[(tea, 1), (cup, 2)])
    fine = place(lines=[(tea, 1)])

    result = orders.change_warehouse([short.pk, fine.pk], shanghai.pk, actor=staff("Logistics coordinator"))

    assert result.done == [fine.number]
    assert "CUP-9: 1" in result.refused[short.number]
    assert reserved_in(short) == [("HZ", 1), ("HZ", 2)]
    assert (level(tea, shanghai).reserved, level(cup, shanghai).reserved, level(cup, hangzhou).reserved) == (1, 0, 2)
    assert list(ledger_mismatches()) == []


@pytest.mark.django_db
def test_an_order_being_picked_keeps_its_warehouse(two_warehouses):
    hangzhou, shanghai = two_warehouses
    product = ProductFactory()
    stock(product, hangzhou, 5)
    stock(product, shanghai, 5)
    order = advance(place(lines=[(product, 1)]), "picking")

    result = orders.change_warehouse([order.pk], shanghai.pk, actor=staff("Manager"))

    assert "Picking" in result.refused[order.number]
    assert reserved_in(order) == [("HZ", 1)]


@pytest.mark.django_db
def test_only_roles_allowed_may_change_warehouse(two_warehouses):
    product = ProductFactory()
    stock(product, two_warehouses[0], 5)
    order = place(lines=[(product, 1)])
    with pytest.raises(PermissionDenied):
        orders.change_warehouse([order.pk], two_warehouses[1].pk, actor=staff("Warehouse operator"))


# --- carrier service -----------------------------------------------------------------------------


@pytest.fixture
def services():
    cheap = CarrierServiceFactory(code="standard", supports_cod=True)
    chosen = CarrierServiceFactory(
        carrier=CarrierFactory(code="yto", name="YTO"), code="premium", name="Premium", supports_cod=True, base_fee=30
    )
    no_cod = CarrierServiceFactory(carrier=CarrierFactory(code="ems", name="EMS"), code="post", name="Post")
    return cheap, chosen, no_cod


@pytest.mark.django_db
def test_a_carrier_service_chosen_before_picking_is_what_the_next_pick_list_uses(services):
    cheap, chosen, _no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order, other = place(lines=[(product, 1)]), place(lines=[(product, 1)])

    result = logistics.choose_carrier_service([order.pk], chosen.pk, actor=staff("Logistics coordinator"))
    assert result.done == [order.number]
    assert CarrierChoice.objects.get(order=order).service == chosen

    pick_all(order)
    pick_all(other)
    parcel, other_parcel = Shipment.objects.get(order=order), Shipment.objects.get(order=other)
    assert (parcel.service, parcel.service_reason) == (chosen, Shipment.ServiceReason.CHOSEN_BY_STAFF)
    assert other_parcel.service == cheap


@pytest.mark.django_db
def test_choosing_a_service_switches_an_open_parcel_and_drops_another_carriers_tracking_number(services):
    _cheap, chosen, _no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])
    pack_all(order)
    parcel = Shipment.objects.get(order=order)
    parcel.tracking_number = "SF5550000000020"
    parcel.save(update_fields=["tracking_number"])

    result = logistics.choose_carrier_service([order.pk], chosen.pk, actor=staff("Logistics coordinator"))

    parcel.refresh_from_db()
    assert (parcel.service, parcel.carrier, parcel.tracking_number) == (chosen, chosen.carrier, "")
    assert result.needs_new_label == [order.number]


@pytest.mark.django_db
def test_cash_on_delivery_orders_refuse_a_service_that_does_not_collect(services):
    _cheap, _chosen, no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])  # cash on delivery

    result = logistics.choose_carrier_service([order.pk], no_cod.pk, actor=staff("Logistics coordinator"))

    assert result.done == []
    assert "cash on delivery" in result.left[order.number]
    assert not CarrierChoice.objects.exists()


@pytest.mark.django_db
def test_a_shipped_order_keeps_its_carrier(services):
    _cheap, chosen, _no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = advance(place(lines=[(product, 1)]), "shipped")

    result = logistics.choose_carrier_service([order.pk], chosen.pk, actor=staff("Manager"))

    assert "Shipped" in result.left[order.number]


@pytest.mark.django_db
def test_a_customer_service_agent_may_not_choose_carriers(services):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])
    with pytest.raises(PermissionDenied):
        logistics.choose_carrier_service([order.pk], services[1].pk, actor=staff("Customer service"))


@pytest.mark.django_db
def test_a_chosen_service_that_was_switched_off_gives_way_to_the_rules(services):
    cheap, chosen, _no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = place(lines=[(product, 1)])
    logistics.choose_carrier_service([order.pk], chosen.pk, actor=SYSTEM)
    CarrierService.objects.filter(pk=chosen.pk).update(active=False)

    pick_all(order)

    assert Shipment.objects.get(order=order).service == cheap


# --- races (PostgreSQL, real connections) --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_changing_warehouse_while_a_pick_list_takes_the_order_one_wins_and_stock_agrees():
    from tests.test_concurrency import assert_stock_consistent, race

    hangzhou, shanghai = WarehouseFactory(code="HZ", priority=1), WarehouseFactory(code="SH", priority=2)
    product = ProductFactory(sku="TEA-1")
    stock(product, hangzhou, 5)
    stock(product, shanghai, 5)
    order = place(lines=[(product, 2)])
    coordinator = staff("Logistics coordinator")

    moved, wave = race(
        lambda: orders.change_warehouse([order.pk], shanghai.pk, actor=coordinator),
        lambda: logistics.create_pick_wave(hangzhou.pk, [order.pk], actor=SYSTEM),
    )

    order.refresh_from_db()
    if isinstance(wave, ValidationError):
        # The move came first: the goods wait in Shanghai, and the Hangzhou list was refused.
        assert moved.done == [order.number]
        assert "SH" in " ".join(wave.messages)
        assert (order.status, reserved_in(order)) == (Status.CONFIRMED, [("SH", 2)])
        assert not Shipment.objects.filter(order=order).exists()
    else:
        # The pick list came first: the order is being picked in Hangzhou and keeps its goods there.
        assert "Picking" in moved.refused[order.number]
        assert (order.status, reserved_in(order)) == (Status.PICKING, [("HZ", 2)])
        assert Shipment.objects.get(order=order).warehouse == hangzhou
    assert_stock_consistent()
    assert (
        StockLevel.objects.get(product=product, warehouse=hangzhou).reserved
        + StockLevel.objects.get(product=product, warehouse=shanghai).reserved
        == 2
    )


# --- the console, as each role ------------------------------------------------------------------

ORDER_LIST = reverse("admin:orders_order_changelist")
_customers = iter(range(1, 10_000))


def new_order(product, quantity=1):
    n = next(_customers)
    return place(lines=[(product, quantity)], phone=f"1390000{n:04d}", address=f"文三路 {n} 号")


def signed_in(client, role):
    user = staff(role)
    client.force_login(user)
    return user


def action(client, action_name, orders, **extra):
    data = {"action": action_name, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orders], "index": "0", **extra}
    return client.post(ORDER_LIST, data, follow=True)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def offered(client):
    return set(dict(client.get(ORDER_LIST).context["action_form"].fields["action"].choices))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, expected, hidden",
    [
        ("Logistics coordinator", {"change_carrier_service", "change_warehouse_selected", "print_parcels"}, set()),
        (
            "Warehouse operator",
            {"print_parcels", "add_tag_selected"},
            {"change_carrier_service", "change_warehouse_selected"},
        ),
        (
            "Customer service",
            {"add_note_selected", "add_tag_selected"},
            {"change_carrier_service", "change_warehouse_selected"},
        ),
        ("Analyst", {"add_note_selected"}, {"change_carrier_service", "change_warehouse_selected", "add_tag_selected"}),
        (
            "Manager",
            {"change_carrier_service", "change_warehouse_selected", "print_parcels", "add_tag_selected"},
            set(),
        ),
    ],
)
def test_bulk_actions_are_offered_only_to_roles_that_may_use_them(client, role, expected, hidden):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    new_order(product)
    signed_in(client, role)
    choices = offered(client)
    assert expected <= choices
    assert not hidden & choices


@pytest.mark.django_db
def test_bulk_note_from_the_list(client):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    orders_chosen = [new_order(product), new_order(product)]
    signed_in(client, "Customer service")

    asked = action(client, "add_note_selected", orders_chosen)
    assert asked.templates[0].name == "admin/orders/order/action_form.html"
    done = action(client, "add_note_selected", orders_chosen, confirm_action="yes", text="Called about delay")

    assert "Note added to 2 orders." in messages_of(done)
    assert OrderNote.objects.filter(text="Called about delay").count() == 2


@pytest.mark.django_db
def test_change_warehouse_from_the_list_reports_moved_and_refused_with_the_sku(client, two_warehouses):
    hangzhou, shanghai = two_warehouses
    tea, cup = ProductFactory(sku="TEA-1"), ProductFactory(sku="CUP-9")
    for product in (tea, cup):
        stock(product, hangzhou, 5)
    stock(tea, shanghai, 5)
    movable, short = new_order(tea), new_order(cup)
    signed_in(client, "Logistics coordinator")

    done = action(client, "change_warehouse_selected", [movable, short], confirm_action="yes", warehouse=shanghai.pk)

    messages = messages_of(done)
    assert any("1 order now has its stock reserved in" in m for m in messages)
    assert any(m.startswith(f"{short.number}: ") and "CUP-9" in m for m in messages)
    assert (reserved_in(movable), reserved_in(short)) == ([("SH", 1)], [("HZ", 1)])


@pytest.mark.django_db
def test_change_carrier_service_from_the_list(client, services):
    _cheap, chosen, _no_cod = services
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    waiting, packed = new_order(product), new_order(product)
    pack_all(packed)
    signed_in(client, "Logistics coordinator")

    asked = action(client, "change_carrier_service", [waiting, packed])
    assert "service" in asked.context["form"].fields
    done = action(client, "change_carrier_service", [waiting, packed], confirm_action="yes", service=chosen.pk)

    assert any("2 orders now ship with" in m for m in messages_of(done))
    assert CarrierChoice.objects.filter(order__in=[waiting, packed], service=chosen).count() == 2
    assert Shipment.objects.get(order=packed).service == chosen


@pytest.mark.django_db
def test_a_customer_service_agent_cannot_post_the_carrier_action(client, services):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = new_order(product)
    signed_in(client, "Customer service")

    action(client, "change_carrier_service", [order], confirm_action="yes", service=services[1].pk)

    assert not CarrierChoice.objects.exists()


@pytest.mark.django_db
def test_print_puts_slips_and_labels_on_one_page_and_lists_orders_without_a_parcel(client, services):
    product = ProductFactory(sku="TEA-1")
    stock(product, WarehouseFactory(), 10)
    waiting_to_pack = advance(new_order(product), "picking")
    packed = new_order(product, 2)
    pack_all(packed)
    not_picked = new_order(product)
    signed_in(client, "Warehouse operator")

    page = action(client, "print_parcels", [waiting_to_pack, packed, not_picked])

    assert page.templates[0].name == "admin/logistics/shipment/print_selection.html"
    html = page.content.decode()
    assert html.count("Packing slip") >= 2
    assert sorted(row["order"].number for row in page.context["parcels"]) == sorted(
        [waiting_to_pack.number, packed.number]
    )
    assert page.context["skipped"] == [not_picked.number]
    labels = [row for row in page.context["parcels"] if row["package_total"]]
    assert [row["order"].number for row in labels] == [packed.number]
    assert 'class="sheet label"' in html
