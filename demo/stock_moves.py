"""Transfers and stock counts in the demo shop (docs/architecture.md, "Transfers between
warehouses", "Stock counts"): one transfer received at Guangzhou with a unit broken on the way, one
on its way to Chengdu (in transit on the stock pages), a count of Shanghai's tea zone booked at
once, and a count of its ceramics zone waiting for the manager's approval of a large variance."""

from datetime import timedelta

from django.db.models import F

from inventory import services as inventory
from inventory.models import CountSession, StockLevel

from .timeline import move, moving

STAMPS = [
    ("inventory_stockmovement", "created_at"),
    ("inventory_transfer", "created_at"),
    ("inventory_transfer", "sent_at"),
    ("inventory_transfer", "received_at"),
    ("inventory_countsession", "created_at"),
    ("inventory_countsession", "submitted_at"),
    ("inventory_countsession", "booked_at"),
    ("inventory_countline", "counted_at"),
]


def _happened(command, hours_ago):
    """Move what the last step stamped to `hours_ago` before the demo's present."""
    move(
        [moving(table, stamp, "") for table, stamp in STAMPS],
        moment=command.limit - timedelta(hours=hours_ago),
        started=command.started,
    )


def _plenty(warehouse, zone, count):
    """The stock levels of a warehouse's zone with the most units free of reservations."""
    return list(
        StockLevel.objects.filter(warehouse=warehouse, bin_location__startswith=zone)
        .annotate(free=F("on_hand") - F("reserved"))
        .filter(free__gte=10)
        .order_by("-free", "pk")[:count]
    )


def seed_transfers_and_counts(command) -> str:
    """Called by seed_demo after the orders, with itself: its users and warehouses."""
    operator, manager = command.users["warehouse"], command.users["manager"]
    sh, gz, cd = (command.warehouses[code] for code in ("SH", "GZ", "CD"))

    tea = _plenty(sh, "A", 2)
    received = inventory.create_transfer(
        source_id=sh.pk,
        destination_id=gz.pk,
        lines=[(level.product_id, 6) for level in tea],
        note="华南备货",
        actor=operator,
    )
    _happened(command, 80)
    inventory.send_transfer(received.pk, actor=operator)
    _happened(command, 78)
    first = tea[0].product_id
    inventory.receive_transfer(received.pk, received={first: 5}, reasons={first: "运输途中破损 1 件"}, actor=operator)
    _happened(command, 30)
    kitchen = _plenty(sh, "C", 2)
    on_the_way = inventory.create_transfer(
        source_id=sh.pk, destination_id=cd.pk, lines=[(level.product_id, 4) for level in kitchen], actor=operator
    )
    inventory.send_transfer(on_the_way.pk, actor=operator)
    _happened(command, 20)

    booked = inventory.open_count_session(warehouse_id=sh.pk, scope="zone", zone="A", actor=operator)
    for line in booked.lines.select_related("stock_level"):
        inventory.set_counted(booked.pk, line_id=line.pk, counted=line.stock_level.on_hand, actor=operator)
    inventory.finish_count(booked.pk, actor=operator)
    _happened(command, 6)

    waiting = inventory.open_count_session(warehouse_id=sh.pk, scope="zone", zone="B", actor=operator)
    lines = sorted(
        waiting.lines.select_related("stock_level"),
        key=lambda line: (line.stock_level.reserved - line.stock_level.on_hand, line.pk),
    )
    for index, line in enumerate(lines):
        level = line.stock_level
        missing = (level.on_hand - level.reserved) // 2 if index == 0 else 0
        inventory.set_counted(waiting.pk, line_id=line.pk, counted=level.on_hand - missing, actor=operator)
    waiting = inventory.finish_count(waiting.pk, actor=operator)
    if waiting.status != CountSession.Status.AWAITING_APPROVAL:
        raise RuntimeError(f"The demo's count {waiting.number} should wait for approval, not be {waiting.status}.")
    _happened(command, 2)
    return (
        f"transfer {received.number} received, {on_the_way.number} in transit; "
        f"count {booked.number} booked, {waiting.number} awaiting {manager.first_name}'s approval"
    )
