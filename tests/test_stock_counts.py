"""Count sessions (docs/architecture.md, "Stock counts"): scoped to a warehouse, zone, bins or ABC
class, counted blind by scan or sheet, each line's expected figure frozen when it is first counted
and its variance booked on top of what moved since; large variances wait for a manager."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from core.actors import SYSTEM
from inventory import selectors, services
from inventory.models import AbcClass, CountSession, CountSettings, Product, StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock
from tests.test_lock_order import tables_first_locked

pytestmark = pytest.mark.django_db
Status = CountSession.Status


@pytest.fixture
def shelf():
    warehouse = WarehouseFactory(code="MAIN")
    tea = ProductFactory(sku="TEA", barcode="6900000000001", cost=Decimal("10.00"))
    cups = ProductFactory(sku="CUPS", barcode="6900000000002", cost=Decimal("2.00"))
    pot = ProductFactory(sku="POT", barcode="6900000000003", cost=Decimal("50.00"))
    stock(tea, warehouse, 100, bin_location="A-01-1")
    stock(cups, warehouse, 40, bin_location="A-02-1")
    stock(pot, warehouse, 5, bin_location="B-01-1")
    return warehouse, tea, cups, pot


def on_hand(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse).on_hand


def skus(session):
    return sorted(session.lines.values_list("stock_level__product__sku", flat=True))


def test_a_session_counts_the_warehouse_a_zone_bins_or_a_class(shelf):
    warehouse, tea, _cups, _pot = shelf
    Product.objects.filter(pk=tea.pk).update(abc_class=AbcClass.A)
    zone = services.open_count_session(warehouse_id=warehouse.pk, scope="zone", zone="a-", actor=SYSTEM)
    assert skus(zone) == ["CUPS", "TEA"]
    bins = services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["B-01-1"], actor=SYSTEM)
    assert skus(bins) == ["POT"]
    services.cancel_count_session(zone.pk, actor=SYSTEM)
    by_class = services.open_count_session(warehouse_id=warehouse.pk, scope="abc", abc_class="A", actor=SYSTEM)
    assert skus(by_class) == ["TEA"]
    # POT is in the bins session and TEA in the class session, not booked yet: two sessions never
    # count one shelf.
    whole = services.open_count_session(warehouse_id=warehouse.pk, scope="warehouse", actor=SYSTEM)
    assert skus(whole) == ["CUPS"]
    with pytest.raises(ValidationError) as refused:
        services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["B-01-1"], actor=SYSTEM)
    assert "scope" in refused.value.message_dict


def test_a_blind_count_by_scan_with_small_variances_is_booked_at_once(shelf):
    warehouse, tea, cups, pot = shelf
    operator = staff("Warehouse operator")
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="warehouse", actor=operator)
    for _ in range(3):
        services.count_by_scan(session.pk, code=pot.barcode, bin_location="B-01-1", actor=operator)
    services.count_by_scan(session.pk, code="POT", quantity=2, actor=operator)
    services.count_by_scan(session.pk, code="TEA", quantity=99, actor=operator)
    services.count_by_scan(session.pk, code=cups.barcode, quantity=40, actor=operator)
    assert "expected" not in str(selectors.blind_lines(session).query).split("FROM")[0]

    session = services.finish_count(session.pk, actor=operator)

    assert session.status == Status.BOOKED
    assert on_hand(tea, warehouse) == 99
    assert on_hand(pot, warehouse) == 5
    movement = StockMovement.objects.get(kind=StockMovement.Kind.COUNT)
    assert (movement.on_hand_change, movement.reference) == (-1, session.number)
    assert list(ledger_mismatches()) == []


def test_a_variance_above_the_limits_waits_for_a_manager(shelf):
    warehouse, tea, cups, pot = shelf
    operator, manager = staff("Warehouse operator"), staff("Manager")
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="warehouse", actor=operator)
    services.record_session_counts(
        session.pk, [("TEA", "A-01-1", 100), ("CUPS", "", 40), ("POT", "", 2)], actor=operator
    )

    session = services.finish_count(session.pk, actor=operator)

    assert session.status == Status.AWAITING_APPROVAL
    assert on_hand(pot, warehouse) == 5
    report = {row.sku: row for row in selectors.variance_report(session)}
    assert (report["POT"].variance, report["POT"].value, report["POT"].needs_approval) == (-3, Decimal("-150.00"), True)
    assert report["TEA"].needs_approval is False
    with pytest.raises(PermissionDenied):
        services.approve_count(session.pk, actor=operator)

    services.approve_count(session.pk, actor=manager)

    session.refresh_from_db()
    assert (session.status, session.approved_by) == (Status.BOOKED, manager)
    assert on_hand(pot, warehouse) == 2
    assert list(ledger_mismatches()) == []


def test_limits_come_from_the_settings():
    settings = CountSettings.current()
    assert services.variance_needs_approval(-1, 100, Decimal("10"), settings) is False
    assert services.variance_needs_approval(-11, 100, Decimal("1"), settings) is True  # 11 % of the expected
    assert services.variance_needs_approval(-5, 1000, Decimal("50"), settings) is True  # worth 250
    assert services.variance_needs_approval(1, 0, Decimal("0"), settings) is True  # found where none was expected
    settings.approval_above_percent = Decimal("50")
    settings.approval_above_value = Decimal("1000")
    assert services.variance_needs_approval(-11, 100, Decimal("1"), settings) is False


def test_a_manager_may_send_large_variances_back_for_a_recount(shelf):
    warehouse, _tea, _cups, pot = shelf
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["B-01-1"], actor=SYSTEM)
    services.count_by_scan(session.pk, code="POT", quantity=1, actor=SYSTEM)
    services.finish_count(session.pk, actor=SYSTEM)
    services.send_back_for_recount(session.pk, actor=staff("Manager"))
    line = session.lines.get()
    assert (line.counted, line.expected) == (None, None)
    services.count_by_scan(session.pk, code="POT", quantity=5, actor=SYSTEM)
    assert services.finish_count(session.pk, actor=SYSTEM).status == Status.BOOKED
    assert on_hand(pot, warehouse) == 5


def test_what_moves_during_the_count_is_carried_over_not_lost_or_counted_twice(shelf):
    """Frozen at the count: 100 TEA expected, 98 on the shelf. Then an order reserves 10 and ships
    them, and 30 are received. Booking the variance (-2) keeps all of that: 100 − 10 + 30 − 2."""
    warehouse, tea, _cups, _pot = shelf
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["A-01-1"], actor=SYSTEM)
    services.count_by_scan(session.pk, code="TEA", quantity=98, actor=SYSTEM)
    order = place(lines=[(tea, 10)])
    advance(order, "shipped")
    services.receive(stock_level_id=StockLevel.objects.get(product=tea).pk, quantity=30, actor=SYSTEM, reference="PO-1")
    session = services.finish_count(session.pk, actor=SYSTEM)
    assert session.status == Status.BOOKED
    assert on_hand(tea, warehouse) == 118
    report = selectors.variance_report(session)
    assert (report[0].expected, report[0].counted, report[0].variance) == (100, 98, -2)
    assert list(ledger_mismatches()) == []


def test_booking_never_leaves_fewer_on_hand_than_reserved(shelf):
    warehouse, _tea, _cups, pot = shelf
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["B-01-1"], actor=SYSTEM)
    services.count_by_scan(session.pk, code="POT", quantity=1, actor=SYSTEM)
    place(lines=[(pot, 4)])
    services.finish_count(session.pk, actor=SYSTEM)
    with pytest.raises(ValidationError, match="POT: the count leaves 1 on hand, below the 4 units reserved"):
        services.approve_count(session.pk, actor=SYSTEM)
    assert CountSession.objects.get(pk=session.pk).status == Status.AWAITING_APPROVAL
    assert on_hand(pot, warehouse) == 5


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        ({"code": "NOPE"}, "code", "Unknown barcode or SKU “NOPE”"),
        ({"code": "TEA", "bin_location": "Z-9"}, "bin_location", "Bin Z-9 is not in count"),
        ({"code": "TEA", "bin_location": "a-02-1"}, "bin_location", "TEA is counted in bin A-01-1"),
        ({"code": "TEA", "quantity": -2}, "quantity", "greater than zero"),
        ({"code": "POT"}, "code", "POT is not in count"),
    ],
)
def test_bad_scans_are_refused_naming_the_field(shelf, call, field, message):
    warehouse = shelf[0]
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="zone", zone="A", actor=SYSTEM)
    services.open_count_session(warehouse_id=warehouse.pk, scope="bins", bins=["B-01-1"], actor=SYSTEM)
    with pytest.raises(ValidationError) as refused:
        services.count_by_scan(session.pk, actor=SYSTEM, **call)
    assert message in " ".join(refused.value.message_dict[field])


def test_finishing_needs_every_line_counted(shelf):
    warehouse = shelf[0]
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="warehouse", actor=SYSTEM)
    services.count_by_scan(session.pk, code="TEA", quantity=100, actor=SYSTEM)
    with pytest.raises(ValidationError, match="2 lines are not counted yet: CUPS .A-02-1., POT .B-01-1."):
        services.finish_count(session.pk, actor=SYSTEM)


def test_the_schedule_opens_each_class_when_it_is_due(shelf, capsys):
    """A monthly, B quarterly by default; a cancelled session does not count as done."""
    _warehouse, tea, cups, _pot = shelf
    Product.objects.filter(pk=tea.pk).update(abc_class="A")
    Product.objects.filter(pk=cups.pk).update(abc_class="B")
    call_command("open_due_counts")
    assert "2 count sessions opened" in capsys.readouterr().out
    sessions = CountSession.objects.filter(scheduled=True)
    assert sorted(sessions.values_list("abc_class", flat=True)) == ["A", "B"]
    assert services.open_due_count_sessions() == []
    for session in sessions:
        line = session.lines.get()
        services.set_counted(session.pk, line_id=line.pk, counted=line.stock_level.on_hand, actor=SYSTEM)
        assert services.finish_count(session.pk, actor=SYSTEM).status == Status.BOOKED

    in_a_month = services.open_due_count_sessions(now=timezone.now() + timedelta(days=31))
    assert [session.abc_class for session in in_a_month] == ["A"]
    services.cancel_count_session(in_a_month[0].pk, actor=SYSTEM)
    in_a_quarter = services.open_due_count_sessions(now=timezone.now() + timedelta(days=92))
    assert sorted(session.abc_class for session in in_a_quarter) == ["A", "B"]


@pytest.mark.postgres
def test_booking_a_count_locks_the_session_then_its_stock_levels(shelf):
    warehouse = shelf[0]
    session = services.open_count_session(warehouse_id=warehouse.pk, scope="zone", zone="A", actor=SYSTEM)
    services.count_by_scan(session.pk, code="TEA", quantity=1, actor=SYSTEM)
    services.count_by_scan(session.pk, code="CUPS", quantity=40, actor=SYSTEM)
    services.finish_count(session.pk, actor=SYSTEM)
    assert tables_first_locked(lambda: services.approve_count(session.pk, actor=SYSTEM)) == [
        "inventory_countsession",
        "inventory_stocklevel",
    ]
