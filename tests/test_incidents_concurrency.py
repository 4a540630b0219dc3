"""Incidents on PostgreSQL with real connections (docs/architecture.md, "Lock order"): an incident's
steps lock the incident first, then the channel or warehouse, then orders and what follows them;
a step racing the closing of its incident, and a move of a warehouse's work racing a pick list
there, end consistent whichever the database serves first."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import SYSTEM
from incidents import services
from incidents.models import Incident
from logistics import services as logistics
from logistics.models import PickWave, Shipment
from orders.models import Allocation, Channel, IntakeSettings
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, pick_all, place, staff, stock
from tests.test_concurrency import assert_stock_consistent, race

pytestmark = [pytest.mark.postgres]

INCIDENT_LOCK_ORDER = [
    "incidents_incident",
    "inventory_warehouse",
    "orders_channel",
    "orders_order",
    "orders_allocation",
    "inventory_stocklevel",
    "logistics_shipment",
]
LOCKED_TABLE = re.compile(r'FROM "(\w+)"')


def tables_first_locked(run):
    with CaptureQueriesContext(connection) as queries:
        run()
    tables = []
    for query in queries.captured_queries:
        if "FOR UPDATE" in query["sql"]:
            table = LOCKED_TABLE.search(query["sql"]).group(1)
            if table not in tables:
                tables.append(table)
    return tables


@pytest.fixture
def setup_shop():
    IntakeSettings.objects.update_or_create(pk=1, defaults={"velocity_max_orders": 100})
    product = ProductFactory(unit_price=Decimal("25.00"))
    return product


@pytest.mark.django_db
def test_closing_locks_incident_warehouse_channel_then_the_held_orders_and_their_stock(setup_shop):
    manager = staff("Manager")
    warehouse = WarehouseFactory()
    stock(setup_shop, warehouse, 10)
    channel = ChannelFactory()
    incident = services.declare(kind=Incident.Kind.OTHER, title="Both", actor=manager)
    services.hold_channel(incident.pk, channel.pk, actor=manager)
    services.pause_picking(incident.pk, warehouse.pk, actor=manager)
    place(channel, lines=[(setup_shop, 1)])

    tables = tables_first_locked(lambda: services.close(incident.pk, actor=manager))

    assert tables == [
        "incidents_incident",
        "inventory_warehouse",
        "orders_channel",
        "orders_order",
        "inventory_stocklevel",
    ]


@pytest.mark.django_db
def test_moving_a_warehouse_s_work_locks_in_the_lock_order(setup_shop):
    manager = staff("Manager")
    closed, other = WarehouseFactory(priority=1), WarehouseFactory(priority=2)
    stock(setup_shop, closed, 10)
    stock(setup_shop, other, 10)
    pick_all(place(lines=[(setup_shop, 1)]))
    place(lines=[(setup_shop, 2)])
    incident = services.declare(kind=Incident.Kind.WAREHOUSE_CLOSED, title="Closed", actor=manager)

    tables = tables_first_locked(lambda: services.move_work(incident.pk, closed.pk, other.pk, actor=manager))

    assert tables == sorted(tables, key=INCIDENT_LOCK_ORDER.index)
    assert tables[0] == "incidents_incident" and "logistics_shipment" in tables


@pytest.mark.django_db(transaction=True)
def test_a_step_racing_the_closing_of_its_incident_leaves_nothing_held():
    manager = staff("Manager")
    channel = ChannelFactory()
    incident = services.declare(kind=Incident.Kind.CHANNEL_BAD_ORDERS, title="Race", actor=manager)

    outcomes = race(
        lambda: services.hold_channel(incident.pk, channel.pk, actor=manager),
        lambda: services.close(incident.pk, actor=manager),
    )

    assert isinstance(outcomes[1], Incident)
    assert not isinstance(outcomes[0], Exception) or isinstance(outcomes[0], services.IncidentClosed)
    assert Channel.objects.get(pk=channel.pk).intake_held_because == ""
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.CLOSED


@pytest.mark.django_db(transaction=True)
def test_moving_work_racing_a_pick_list_at_the_same_warehouse_keeps_goods_and_parcels_together(setup_shop):
    manager = staff("Manager")
    closed, other = WarehouseFactory(code="HZ", priority=1), WarehouseFactory(code="NB", priority=2)
    stock(setup_shop, closed, 10)
    stock(setup_shop, other, 10)
    orders_placed = [place(lines=[(setup_shop, 1)]) for _ in range(4)]
    incident = services.declare(kind=Incident.Kind.WAREHOUSE_CLOSED, title="Flood", actor=manager)

    outcomes = race(
        lambda: services.move_work(incident.pk, closed.pk, other.pk, actor=manager),
        lambda: logistics.create_pick_wave(closed.pk, [order.pk for order in orders_placed], actor=SYSTEM),
    )

    assert not isinstance(outcomes[0], Exception), outcomes[0]
    assert isinstance(outcomes[1], PickWave | ValidationError), outcomes[1]
    assert_stock_consistent()
    for order in orders_placed:
        [reserved] = Allocation.objects.filter(line__order=order, state=Allocation.State.RESERVED)
        assert reserved.stock_level.warehouse == other
        assert not Shipment.objects.filter(order=order, warehouse=closed, status__in=Shipment.OPEN).exists()
