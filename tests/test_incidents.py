"""Incidents and their plans (docs/architecture.md, "Incidents"): each step of a plan acts through
the lower apps' services and is written to the incident's timeline with who took it; closing the
incident releases what it held; only managers declare, act and close."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.actors import SYSTEM
from core.permissions import Incidents
from incidents import selectors, services
from incidents.models import Incident, IncidentAction, Risk
from inventory.models import StockLevel
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Allocation, Channel, IntakeSettings, Notification, NotificationEvent, Order
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    order_input,
    pick_all,
    place,
    staff,
    stock,
    tracking_number,
)

pytestmark = pytest.mark.django_db

Kind = IncidentAction.Kind


@pytest.fixture(autouse=True)
def _many_orders_to_one_address():
    """The tests place several orders to one customer; the repeat-order rule is not what they test."""
    IntakeSettings.objects.update_or_create(pk=1, defaults={"velocity_max_orders": 100})


@pytest.fixture
def manager():
    return staff("Manager", username="mia")


@pytest.fixture
def product():
    return ProductFactory(sku="TEAPOT", unit_price=Decimal("25.00"))


def declare(manager, kind=Incident.Kind.OTHER, title="Trouble"):
    return services.declare(kind=kind, title=title, description="What we know.", actor=manager)


def kinds(incident):
    return list(incident.actions.values_list("kind", flat=True))


def fresh(row):
    row.refresh_from_db()
    return row


# Declaring and the timeline


def test_a_manager_declares_an_incident_with_a_number_and_its_first_timeline_entry(manager):
    incident = declare(manager, Incident.Kind.CARRIER_DOWN, "SF down in Guangdong")

    assert incident.number.startswith("INC") and incident.status == Incident.Status.OPEN
    [entry] = selectors.timeline(incident)
    assert (entry.action.kind, entry.action.actor, entry.sentence) == (
        Kind.DECLARED,
        manager,
        "Declared: SF down in Guangdong.",
    )


def test_declaring_without_a_title_is_refused_naming_the_field(manager):
    with pytest.raises(ValidationError) as refused:
        services.declare(kind=Incident.Kind.OTHER, title="  ", actor=manager)

    assert "title" in refused.value.message_dict


@pytest.mark.parametrize(
    "role", ["Order reviewer", "Warehouse operator", "Logistics coordinator", "Customer service", "Finance"]
)
def test_only_a_manager_declares_acts_on_and_closes_an_incident(role, manager):
    someone = staff(role)
    incident = declare(manager)

    with pytest.raises(PermissionDenied):
        services.declare(kind=Incident.Kind.OTHER, title="Mine", actor=someone)
    with pytest.raises(PermissionDenied):
        services.add_note(incident.pk, text="I saw it too", actor=someone)
    with pytest.raises(PermissionDenied):
        services.close(incident.pk, actor=someone)
    assert fresh(incident).is_open and kinds(incident) == [Kind.DECLARED]


def test_the_manager_role_holds_the_incident_permissions(manager):
    assert all(
        manager.has_perm(permission)
        for permission in (
            Incidents.VIEW_INCIDENT,
            Incidents.DECLARE_INCIDENT,
            Incidents.ACT_ON_INCIDENT,
            Incidents.CLOSE_INCIDENT,
            Incidents.ADD_RISK,
            Incidents.CHANGE_RISK,
        )
    )


# Holding a channel's new orders


def test_a_held_channel_s_new_orders_are_held_with_the_incident_as_the_reason_and_reserve_nothing(manager, product):
    stock(product, WarehouseFactory(), 10)
    channel = ChannelFactory()
    incident = declare(manager, Incident.Kind.CHANNEL_BAD_ORDERS, "Marketplace sends zero prices")

    services.hold_channel(incident.pk, channel.pk, actor=manager)
    order = place(channel, lines=[(product, 2)])
    other = place(ChannelFactory(code="app", name="App"), lines=[(product, 1)])

    assert order.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in order.hold_reasons] == ["channel_held"]
    assert incident.number in order.hold_reasons[0]["params"]["reason"]
    assert not Allocation.objects.filter(line__order=order).exists()
    assert other.status == Order.Status.CONFIRMED


def test_intake_reads_the_hold_of_a_whole_batch_in_one_query(manager, product, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stock(product, WarehouseFactory(), 100)
    channel = ChannelFactory()
    inputs = [order_input(channel, lines=[(product, 1)]) for _ in range(5)]
    with CaptureQueriesContext(connection) as before:
        orders.place_orders(inputs, actor=SYSTEM)
    services.hold_channel(declare(manager).pk, channel.pk, actor=manager)
    inputs = [order_input(channel, lines=[(product, 1)]) for _ in range(5)]
    with CaptureQueriesContext(connection) as held:
        outcomes = orders.place_orders(inputs, actor=SYSTEM)

    channel_reads = [q for q in held.captured_queries if "intake_held_because" in q["sql"]]
    assert len(channel_reads) == 1
    assert all(outcome.order.status == Order.Status.ON_HOLD for outcome in outcomes)
    # Held orders reserve nothing, so they cost no more statements than confirmed ones.
    assert len(held.captured_queries) <= len(before.captured_queries) + 1


def test_a_channel_is_held_by_one_incident_at_a_time(manager):
    channel = ChannelFactory()
    services.hold_channel(declare(manager).pk, channel.pk, actor=manager)

    with pytest.raises(ValidationError, match="already held"):
        services.hold_channel(declare(manager, title="Again").pk, channel.pk, actor=manager)


def test_closing_releases_the_channel_s_held_orders_back_through_the_checks(manager, product):
    stock(product, WarehouseFactory(), 10)
    channel = ChannelFactory()
    incident = declare(manager, Incident.Kind.CHANNEL_BAD_ORDERS)
    services.hold_channel(incident.pk, channel.pk, actor=manager)
    clean = place(channel, lines=[(product, 2)])
    no_city = place(channel, lines=[(product, 1)], city="", district="")
    already_approved = place(channel, lines=[(product, 1)])
    orders.approve(already_approved.pk, actor=manager)

    services.close(incident.pk, note="Marketplace fixed its feed.", actor=manager)

    assert fresh(clean).status == Order.Status.CONFIRMED
    assert Allocation.objects.filter(line__order=clean, state=Allocation.State.RESERVED).exists()
    no_city = fresh(no_city)
    assert no_city.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in no_city.hold_reasons] == ["address_incomplete"]
    assert fresh(channel).intake_held_because == ""
    assert place(channel, lines=[(product, 1)]).status == Order.Status.CONFIRMED
    released = fresh(incident).actions.get(kind=Kind.RELEASED)
    assert released.details["orders"] == [clean.number]
    assert "1 held orders confirmed, 1 still held for review" in selectors.describe(released)
    assert kinds(incident)[-1] == Kind.CLOSED


def test_a_released_order_short_of_stock_stays_held_as_short(manager, product):
    level = stock(product, WarehouseFactory(), 2)
    channel = ChannelFactory()
    incident = declare(manager)
    services.hold_channel(incident.pk, channel.pk, actor=manager)
    order = place(channel, lines=[(product, 2)])
    from inventory import services as inventory

    inventory.adjust(stock_level_id=level.pk, change=-2, reason="broken", actor=manager)

    services.close(incident.pk, actor=manager)

    order = fresh(order)
    assert order.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in order.hold_reasons] == ["out_of_stock"]


# Pausing a warehouse's picking


def test_a_pick_list_is_refused_at_a_paused_warehouse_with_the_incident_named_until_it_closes(manager, product):
    warehouse = WarehouseFactory(code="HZ")
    stock(product, warehouse, 10)
    order = place(lines=[(product, 1)])
    incident = declare(manager, Incident.Kind.WAREHOUSE_CLOSED, "Hangzhou flooded")
    services.pause_picking(incident.pk, warehouse.pk, actor=manager)

    with pytest.raises(ValidationError) as refused:
        logistics.create_pick_wave(warehouse.pk, [order.pk], actor=manager)

    assert "Picking at HZ" in " ".join(refused.value.messages)
    assert incident.number in " ".join(refused.value.messages)
    services.close(incident.pk, actor=manager)
    assert logistics.create_pick_wave(warehouse.pk, [order.pk], actor=manager).shipments.count() == 1


# Stock figures in doubt


def test_a_warehouse_whose_stock_is_in_doubt_promises_nothing_to_new_orders_until_released(manager, product):
    doubtful = WarehouseFactory(code="SH", priority=1)
    sound = WarehouseFactory(code="BJ", priority=2)
    stock(product, doubtful, 10)
    stock(product, sound, 1)
    incident = declare(manager, Incident.Kind.STOCK_IN_DOUBT)
    hold = services.pause_reservations(incident.pk, doubtful.pk, actor=manager)

    filled_elsewhere = place(lines=[(product, 1)])
    short = place(lines=[(product, 1)])

    assert Allocation.objects.get(line__order=filled_elsewhere).stock_level.warehouse == sound
    assert short.status == Order.Status.ON_HOLD
    services.release_hold(incident.pk, hold.pk, actor=manager)
    assert Allocation.objects.get(line__order=place(lines=[(product, 1)])).stock_level.warehouse == doubtful
    assert fresh(incident).is_open


# Moving a warehouse's open work


def test_moving_a_warehouse_s_work_moves_unpicked_orders_and_leaves_the_ones_being_packed(manager, product):
    closed = WarehouseFactory(code="HZ", priority=1)
    other = WarehouseFactory(code="NB", priority=2)
    stock(product, closed, 10)
    stock(product, other, 3)
    waiting = place(lines=[(product, 2)])
    on_list = place(lines=[(product, 1)])
    pick_all(on_list)
    being_packed = place(lines=[(product, 1)])
    [wave] = pick_all(being_packed)
    parcel = being_packed.shipments.get()
    logistics.pack_item(parcel.pk, product.sku, actor=SYSTEM)
    too_big = place(lines=[(product, 5)])
    incident = declare(manager, Incident.Kind.WAREHOUSE_CLOSED)

    action = services.move_work(incident.pk, closed.pk, other.pk, actor=manager)

    assert sorted(action.details["orders"]) == sorted([waiting.number, on_list.number])
    assert set(action.details["left"]) == {being_packed.number, too_big.number}
    assert "being packed" in action.details["left"][being_packed.number]
    assert "TEAPOT: 5" in action.details["left"][too_big.number]
    for order in (waiting, on_list):
        [reserved] = Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED)
        assert reserved.stock_level.warehouse == other
    assert on_list.shipments.get().status == Shipment.Status.CANCELLED
    assert StockLevel.objects.get(product=product, warehouse=closed).reserved == 1 + 5
    assert StockLevel.objects.get(product=product, warehouse=other).reserved == 3
    # The moved order goes on a pick list at the other warehouse now.
    assert logistics.create_pick_wave(other.pk, [on_list.pk], actor=manager).warehouse == other
    assert "2 orders moved, 2 left" in selectors.describe(action)


def test_work_is_not_moved_to_the_same_warehouse(manager):
    warehouse = WarehouseFactory()
    with pytest.raises(ValidationError) as refused:
        services.move_work(declare(manager).pk, warehouse.pk, warehouse.pk, actor=manager)

    assert "to_warehouse" in refused.value.message_dict


# Switching a carrier's parcels


@pytest.fixture
def carriers():
    down = CarrierServiceFactory(
        carrier=CarrierFactory(code="sf", name="SF Express"), code="standard", supports_cod=True
    )
    up = CarrierServiceFactory(
        carrier=CarrierFactory(code="yto", name="YTO Express"), code="standard", name="YTO Standard", supports_cod=False
    )
    return down, up


def test_switching_a_carrier_moves_its_open_parcels_in_the_chosen_provinces_to_the_other_service(
    manager, product, carriers
):
    down, up = carriers
    stock(product, WarehouseFactory(), 20)
    guangdong = place(
        lines=[(product, 1)],
        province="广东省",
        city="广州市",
        district="天河区",
        payment_method="card",
        paid_amount="25.00",
    )
    zhejiang = place(lines=[(product, 1)], province="浙江省", payment_method="card", paid_amount="25.00")
    cash = place(lines=[(product, 1)], province="广东省", city="广州市", district="天河区")
    labelled = place(
        lines=[(product, 1)],
        province="广东省",
        city="广州市",
        district="天河区",
        payment_method="card",
        paid_amount="25.00",
    )
    for order in (guangdong, zhejiang, cash, labelled):
        pick_all(order)
    labelled_parcel = labelled.shipments.get()
    logistics.assign_tracking_number(labelled_parcel.pk, None, tracking_number(), actor=SYSTEM)
    assert set(Shipment.objects.values_list("service", flat=True)) == {down.pk}
    incident = declare(manager, Incident.Kind.CARRIER_DOWN)

    action = services.switch_carrier(incident.pk, down.carrier_id, up.pk, provinces="广东省", actor=manager)

    assert sorted(action.details["orders"]) == sorted([guangdong.number, labelled.number])
    assert list(action.details["left"]) == [cash.number]
    assert action.details["relabel"] == [labelled.number]
    assert guangdong.shipments.get().service == up
    assert zhejiang.shipments.get().service == down
    assert cash.shipments.get().service == down
    labelled_parcel.refresh_from_db()
    assert (labelled_parcel.carrier_id, labelled_parcel.tracking_number) == (up.carrier_id, "")
    assert "广东省" in selectors.describe(action)


# Messaging the affected customers


def test_the_affected_customers_are_written_to_with_the_disruption_template_in_their_language(
    manager, product, carriers
):
    down, _up = carriers
    stock(product, WarehouseFactory(), 20)
    chinese = place(lines=[(product, 1)], email="wang@example.com", language="zh-hans")
    english = place(lines=[(product, 1)], phone="13900139000", email="amy@example.com", language="en")
    not_affected = place(lines=[(product, 1)], phone="13700137000", email="li@example.com")
    pick_all(chinese)
    pick_all(english)
    incident = declare(manager, Incident.Kind.CARRIER_DOWN)

    action = services.message_customers(
        incident.pk, scope="carrier", carrier_id=down.carrier_id, message="Deliveries are two days late.", actor=manager
    )

    sent = Notification.objects.filter(event=NotificationEvent.DISRUPTION)
    assert {n.order_id for n in sent} == {chinese.pk, english.pk}
    assert not sent.filter(order=not_affected).exists()
    english_mail = sent.get(order=english, medium="email")
    assert "Deliveries are two days late." in english_mail.body and english.number in english_mail.subject
    assert "配送受影响" in sent.get(order=chinese, medium="email").subject
    assert action.details["count"] == 2
    assert "Deliveries are two days late." in selectors.describe(action)


def test_a_message_that_reaches_nobody_is_refused_and_not_recorded(manager, carriers):
    incident = declare(manager)
    with pytest.raises(ValidationError, match="nobody"):
        services.message_customers(
            incident.pk, scope="carrier", carrier_id=carriers[0].carrier_id, message="Late.", actor=manager
        )
    assert kinds(incident) == [Kind.DECLARED]


# Closing


def test_closing_releases_every_hold_and_a_closed_incident_takes_no_more_steps(manager, product):
    warehouse = WarehouseFactory()
    channel = ChannelFactory()
    incident = declare(manager)
    services.hold_channel(incident.pk, channel.pk, actor=manager)
    services.pause_picking(incident.pk, warehouse.pk, actor=manager)
    services.pause_reservations(incident.pk, warehouse.pk, actor=manager)

    services.close(incident.pk, actor=manager)

    warehouse.refresh_from_db()
    assert (warehouse.picking_paused_because, warehouse.reservations_paused_because) == ("", "")
    assert fresh(channel).intake_held_because == ""
    assert selectors.holds_in_force(incident) == []
    assert kinds(incident)[-4:] == [Kind.RELEASED, Kind.RELEASED, Kind.RELEASED, Kind.CLOSED]
    assert all(action.actor == manager for action in incident.actions.all())
    with pytest.raises(services.IncidentClosed):
        services.pause_picking(incident.pk, warehouse.pk, actor=manager)
    with pytest.raises(services.IncidentClosed):
        services.close(incident.pk, actor=manager)


def test_a_failing_step_changes_nothing_and_writes_no_timeline_entry(manager):
    channel = ChannelFactory()
    incident = declare(manager)
    Channel.objects.filter(pk=channel.pk).update(intake_held_because="Held by hand")

    with pytest.raises(ValidationError):
        services.hold_channel(incident.pk, channel.pk, actor=manager)

    assert kinds(incident) == [Kind.DECLARED]
    assert fresh(channel).intake_held_because == "Held by hand"


# The risk register


def test_a_risk_gets_its_score_from_likelihood_and_impact_and_names_its_plan(manager):
    risk = services.save_risk(
        title="Carrier strike before Singles' Day",
        likelihood=3,
        impact=5,
        owner_id=manager.pk,
        plan=Incident.Kind.CARRIER_DOWN,
        response="Switch to YTO and tell the customers.",
        actor=manager,
    )
    services.save_risk(
        title="Warehouse flood", likelihood=1, impact=4, owner_id=manager.pk, plan="warehouse_closed", actor=manager
    )

    assert risk.score == 15
    assert [r.title for r in selectors.risk_list()] == ["Carrier strike before Singles' Day", "Warehouse flood"]
    changed = services.save_risk(
        risk.pk, title=risk.title, likelihood=1, impact=2, owner_id=manager.pk, plan=risk.plan, actor=manager
    )
    assert changed.score == 2 and Risk.objects.count() == 2


def test_a_risk_with_levels_out_of_range_or_no_plan_is_refused_naming_each_field(manager):
    with pytest.raises(ValidationError) as refused:
        services.save_risk(title="", likelihood=6, impact=0, owner_id=manager.pk, plan="", actor=manager)

    assert set(refused.value.message_dict) == {"title", "likelihood", "impact", "plan"}


def test_only_a_manager_keeps_the_risk_register(manager):
    with pytest.raises(PermissionDenied):
        services.save_risk(
            title="x", likelihood=1, impact=1, owner_id=manager.pk, plan="other", actor=staff("Logistics coordinator")
        )
