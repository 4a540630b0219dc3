"""Ship-by deadlines (docs/architecture.md, "Ship-by deadlines"): a channel's hours and cut-off hour
give each order its due time at intake, or when it is paid if it waited for its payment; the order
list's Due today and Overdue tabs, the due time on the list and the order page, and the dashboard's
on-time dispatch rate per channel from a rollup that rebuild_rollups recomputes."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from io import BytesIO, StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from analytics import selectors as dashboard_selectors
from analytics.models import DailyDispatchDeadlines
from analytics.selectors import Filters, Period
from core.actors import SYSTEM
from logistics import services as logistics
from logistics.models import Shipment
from orders import selectors as order_selectors
from orders import services as orders
from orders.models import Channel, Order
from orders.services.deadlines import dispatch_due
from tests.factories import (
    CarrierFactory,
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    buyer_apart,
    channel_client,
    order_input,
    pack_all,
    place_apart,
    stock,
    tracking_number,
)
from tests.factories import staff as staff_member

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
ORDER_LIST = reverse("admin:orders_order_changelist")
HOME = reverse("admin:index")


@pytest.fixture
def counted(django_capture_on_commit_callbacks):
    """Runs what the block commits, rollup writes included (the test's own transaction never commits)."""
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def product():
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 500)
    return product


def marketplace(hours=48, cutoff=None, code="tmall"):
    return ChannelFactory(
        code=code,
        name=code.title(),
        kind=Channel.Kind.MARKETPLACE,
        dispatch_within_hours=hours,
        dispatch_cutoff_hour=cutoff,
    )


def shanghai(*args):
    return datetime(*args, tzinfo=SHANGHAI)


# The due time -------------------------------------------------------------------------------------


def test_without_a_cut_off_the_deadline_counts_from_the_moment_the_clock_starts():
    channel = Channel(dispatch_within_hours=48)

    assert dispatch_due(channel, shanghai(2026, 3, 2, 23, 40)) == shanghai(2026, 3, 4, 23, 40)


def test_a_channel_without_hours_gives_no_deadline():
    assert dispatch_due(Channel(dispatch_within_hours=None), shanghai(2026, 3, 2, 10, 0)) is None


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # Before the cut-off: the clock starts at once.
        (shanghai(2026, 3, 2, 15, 59, 59), shanghai(2026, 3, 4, 15, 59, 59)),
        # At the cut-off hour and after: from midnight at the start of the next local day.
        (shanghai(2026, 3, 2, 16, 0), shanghai(2026, 3, 5, 0, 0)),
        (shanghai(2026, 3, 2, 23, 59), shanghai(2026, 3, 5, 0, 0)),
        # Just after midnight the new day is before its cut-off again.
        (shanghai(2026, 3, 3, 0, 5), shanghai(2026, 3, 5, 0, 5)),
        # Across the end of a month.
        (shanghai(2026, 3, 31, 18, 0), shanghai(2026, 4, 3, 0, 0)),
    ],
)
def test_a_cut_off_hour_moves_later_orders_to_the_start_of_the_next_day(start, due):
    channel = Channel(dispatch_within_hours=48, dispatch_cutoff_hour=16)

    assert dispatch_due(channel, start) == due


def test_the_cut_off_is_the_shops_local_hour_whatever_zone_the_time_comes_in_or_the_reader_uses():
    channel = Channel(dispatch_within_hours=24, dispatch_cutoff_hour=16)
    # 08:30 UTC is 16:30 in Shanghai: past the cut-off, though 08:30 is not past 16:00.
    start = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

    with timezone.override("America/New_York"):
        due = dispatch_due(channel, start)

    assert due == shanghai(2026, 3, 4, 0, 0)


def test_a_cut_off_hour_needs_hours_and_is_an_hour_of_the_day():
    with pytest.raises(ValidationError) as without_hours:
        Channel(code="m", name="M", kind=Channel.Kind.MARKETPLACE, dispatch_cutoff_hour=16).full_clean()
    assert "dispatch_cutoff_hour" in without_hours.value.message_dict

    with pytest.raises(ValidationError) as past_midnight:
        Channel(
            code="m", name="M", kind=Channel.Kind.MARKETPLACE, dispatch_within_hours=24, dispatch_cutoff_hour=24
        ).full_clean()
    assert "dispatch_cutoff_hour" in past_midnight.value.message_dict


# Intake and payment -----------------------------------------------------------------------------


def test_intake_gives_each_order_its_due_time_from_its_channel_and_when_it_came_in(product):
    market, web = marketplace(hours=48), ChannelFactory(code="web")

    order = place_apart(market, lines=[(product, 1)])
    without = place_apart(web, lines=[(product, 1)])

    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert order.dispatch_due_at == order.received_at + timedelta(hours=48)
    assert without.dispatch_due_at is None


def test_the_channel_api_and_the_order_export_carry_the_ship_by_time(client, product):
    market = marketplace(hours=48)
    order = place_apart(market, lines=[(product, 1)])
    order.refresh_from_db()

    answer = channel_client(market).get(f"/api/v1/orders/{order.number}/").json()
    assert datetime.fromisoformat(answer["dispatch_due_at"]) == order.dispatch_due_at

    client.force_login(staff_member("Customer service"))
    response = client.post(reverse("admin:orders_order_export"), {"file_format": "xlsx", "kind": "export_orders"})
    rows = [list(row) for row in load_workbook(BytesIO(b"".join(response.streaming_content))).active.values]
    due = rows[1][rows[0].index("Ship by")]
    assert due == timezone.localtime(order.dispatch_due_at).replace(tzinfo=None, microsecond=0)


def test_due_times_cost_intake_no_query_of_their_own(product):
    def placing(channel):
        inputs = [order_input(channel, lines=[(product, 1)], **buyer_apart()) for _ in range(3)]
        with CaptureQueriesContext(connection) as queries:
            orders.place_orders(inputs, actor=SYSTEM)
        return len(queries.captured_queries)

    market, web = marketplace(hours=48), ChannelFactory(code="web")
    placing(web)  # the first placing reads what later ones find cached

    assert placing(market) == placing(web)
    assert Order.objects.filter(channel=market, dispatch_due_at__isnull=True).count() == 0


def test_an_order_awaiting_payment_starts_its_clock_when_it_is_paid(product):
    market = marketplace(hours=48)
    order = place_apart(market, lines=[(product, 2)], payment_method="bank_transfer")
    assert (order.status, order.dispatch_due_at) == (Order.Status.AWAITING_PAYMENT, None)

    before = timezone.now()
    orders.record_payment(
        order.pk, method="bank_transfer", amount=Decimal("50.00"), actor=staff_member("Finance"), reference="B1"
    )
    after = timezone.now()

    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert before + timedelta(hours=48) <= order.dispatch_due_at <= after + timedelta(hours=48)


def test_a_partial_payment_leaves_the_clock_stopped(product):
    order = place_apart(marketplace(hours=48), lines=[(product, 2)], payment_method="bank_transfer")

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("20.00"), actor=staff_member("Finance"))

    order.refresh_from_db()
    assert (order.status, order.dispatch_due_at) == (Order.Status.AWAITING_PAYMENT, None)


# The order list and the order page --------------------------------------------------------------


def tab_counts(response):
    return {tab["key"]: tab["count"] for tab in response.context["tabs"]}


def listed(response):
    return sorted(order.number for order in response.context["cl"].result_list)


def due(order, moment):
    Order.objects.filter(pk=order.pk).update(dispatch_due_at=moment)
    order.refresh_from_db()
    return order


@pytest.fixture
def desk(product):
    """Orders of a 48-hour marketplace whose due times are set around 10:00 today by the test."""
    market = marketplace(hours=48)
    return {
        "overdue": place_apart(market, lines=[(product, 1)]),
        "today": place_apart(market, lines=[(product, 1)]),
        "tonight": place_apart(market, lines=[(product, 1)]),
        "tomorrow": place_apart(market, lines=[(product, 1)]),
        "shipped_late": advance(place_apart(market, lines=[(product, 1)]), "shipped"),
        "unpaid": place_apart(market, lines=[(product, 1)], payment_method="bank_transfer"),
        "no_deadline": place_apart(ChannelFactory(code="web"), lines=[(product, 1)]),
    }


def ten_in_the_morning():
    """10:00 today in the shop, so "later today" and "tomorrow" are known whenever the test runs."""
    return datetime.combine(timezone.localdate(timezone=SHANGHAI), time(10), tzinfo=SHANGHAI)


def set_due_times(desk, now):
    due(desk["overdue"], now - timedelta(minutes=1))
    due(desk["today"], now + timedelta(hours=3))
    due(desk["tonight"], datetime.combine(now.date(), time(23, 59, 59), tzinfo=SHANGHAI))
    due(desk["tomorrow"], datetime.combine(now.date() + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI))
    due(desk["shipped_late"], now - timedelta(days=1))


def test_due_today_and_overdue_tabs_hold_the_orders_not_dispatched_yet_with_their_counts(client, desk, monkeypatch):
    now = ten_in_the_morning()
    set_due_times(desk, now)
    client.force_login(staff_member("Customer service"))
    monkeypatch.setattr(timezone, "now", lambda: now)

    everything = client.get(ORDER_LIST)
    due_today = client.get(ORDER_LIST, {"tab": "due_today"})
    overdue = client.get(ORDER_LIST, {"tab": "overdue"})
    awaiting = client.get(ORDER_LIST, {"tab": "awaiting_payment"})

    counts = tab_counts(everything)
    assert (counts["due_today"], counts["overdue"], counts["awaiting_payment"]) == ("2", "1", "1")
    assert listed(due_today) == sorted([desk["today"].number, desk["tonight"].number])
    assert listed(overdue) == [desk["overdue"].number]
    assert listed(awaiting) == [desk["unpaid"].number]
    assert [tab["key"] for tab in due_today.context["tabs"] if tab["current"]] == ["due_today"]


def test_the_tabs_keep_the_lists_other_filters_and_work_as_saved_views(client, desk, product, monkeypatch):
    now = ten_in_the_morning()
    set_due_times(desk, now)
    other = due(place_apart(marketplace(hours=24, code="jd"), lines=[(product, 1)]), now - timedelta(hours=2))
    user = staff_member("Customer service")
    client.force_login(user)
    view = orders.save_view("Late on Tmall", f"tab=overdue&channel__id__exact={desk['overdue'].channel_id}", actor=user)
    monkeypatch.setattr(timezone, "now", lambda: now)

    every_channel = client.get(ORDER_LIST, {"tab": "overdue"})
    saved = client.get(f"{ORDER_LIST}?{view.query}")

    assert listed(every_channel) == sorted([desk["overdue"].number, other.number])
    assert listed(saved) == [desk["overdue"].number]
    assert tab_counts(saved)["overdue"] == "1"


def test_the_queues_are_the_shops_day(desk):
    now = ten_in_the_morning()
    set_due_times(desk, now)

    with timezone.override("America/New_York"):
        today = set(Order.objects.filter(order_selectors.dispatch_due_today(now)).values_list("pk", flat=True))

    assert today == {desk["today"].pk, desk["tonight"].pk}


@pytest.mark.postgres
@pytest.mark.parametrize("queue", [order_selectors.dispatch_due_today, order_selectors.dispatch_overdue])
def test_the_queues_and_their_capped_counts_read_the_partial_index_of_open_deadlines(desk, queue):
    with connection.cursor() as cursor:
        # A tiny test table is cheaper to read whole; forbidding that shows whether the index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        page = Order.objects.filter(queue()).order_by("-placed_at", "-id")[:50].explain()
        counted = Order.objects.filter(queue()).order_by()[:1001].explain()

    for plan in (page, counted):
        assert "order_dispatch_due" in plan, plan


def shown(moment):
    """A time as the console writes it, its date and hour each kept whole."""
    return " ".join(
        f'<span class="oc-when">{part}</span>' for part in f"{timezone.localtime(moment):%Y-%m-%d %H:%M}".split()
    )


def test_the_list_and_the_order_page_show_the_due_time_and_mark_it_overdue(client, desk):
    now = timezone.now()
    due(desk["overdue"], now - timedelta(hours=1))
    due(desk["tomorrow"], now + timedelta(days=1))
    client.force_login(staff_member("Customer service"))

    listing = client.get(ORDER_LIST).content.decode()
    late_page = client.get(reverse("admin:orders_order_change", args=[desk["overdue"].pk])).content.decode()
    fine_page = client.get(reverse("admin:orders_order_change", args=[desk["tomorrow"].pk])).content.decode()

    late_shown, fine_shown = (shown(desk[key].dispatch_due_at) for key in ("overdue", "tomorrow"))
    assert f'<span class="oc-ship-by oc-overdue">Overdue: ship by {late_shown}</span>' in listing
    assert f'<span class="oc-ship-by">Ship by {fine_shown}</span>' in listing
    assert f'<span class="oc-ship-by oc-overdue">{late_shown}, overdue</span>' in late_page
    assert f'<span class="oc-ship-by">{fine_shown}</span>' in fine_page
    assert "oc-ship-by oc-overdue" not in fine_page


# The dashboard ----------------------------------------------------------------------------------


def ship(order):
    return advance(order, "shipped")


@pytest.fixture
def dispatched(counted, product):
    """Tmall (48 h): one order on time, one late; JD (24 h): one on time; the phone channel has no
    deadline and one order dispatched."""
    tmall, jd = marketplace(hours=48), marketplace(hours=24, code="jd")
    phone = ChannelFactory(code="phone", name="Phone", kind=Channel.Kind.PHONE)
    with counted():
        on_time = place_apart(tmall, lines=[(product, 1)])
        late = due(place_apart(tmall, lines=[(product, 1)]), timezone.now() - timedelta(hours=1))
        jd_on_time = place_apart(jd, lines=[(product, 1)])
        no_deadline = place_apart(phone, lines=[(product, 1)])
    with counted():
        for order in (on_time, late, jd_on_time, no_deadline):
            ship(order)
    return {"tmall": tmall, "jd": jd, "phone": phone}


def today_only():
    today = timezone.localdate(timezone=SHANGHAI)
    return Period(today, today), {"range": "custom", "start": today.isoformat(), "end": today.isoformat()}


def test_the_on_time_dispatch_rate_per_channel_comes_from_the_rollup(dispatched):
    period, _query = today_only()

    rows = dashboard_selectors.dispatch_deadlines(Filters(period))

    assert [(row.label, row.dispatched, row.on_time, row.late, row.rate) for row in rows] == [
        ("Tmall", 2, 1, 1, Decimal("0.5")),
        ("Jd", 1, 1, 0, Decimal("1")),
    ]
    assert dashboard_selectors.dispatch_deadlines(Filters(period, channel_id=dispatched["phone"].pk)) == []


def test_the_dashboard_and_its_excel_show_the_rate_per_channel(client, dispatched):
    _period, query = today_only()
    client.force_login(staff_member("Manager"))

    page = client.get(HOME, query).content.decode()
    sheet = load_workbook(
        BytesIO(client.get(reverse("admin:analytics_dashboard_export", args=["dispatch_deadlines"]), query).content)
    ).active

    section = page[page.index('id="dash-dispatch_deadlines"') : page.index('id="dash-staff"')]
    assert "On-time dispatch by channel" in section
    assert "<td>Tmall</td>" in section and "50.0 %" in section
    assert "<td>Jd</td>" in section and "100.0 %" in section
    assert "Phone" not in section
    rows = list(sheet.iter_rows(min_row=5, max_row=6, values_only=True))
    assert rows == [("Tmall", 2, 1, 1, Decimal("0.5")), ("Jd", 1, 1, 0, Decimal("1"))]


def test_a_partial_shipment_counts_its_order_once_by_its_first_parcel(counted):
    north, south = WarehouseFactory(name="北仓"), WarehouseFactory(name="南仓")
    kettle, cup = ProductFactory(sku="K"), ProductFactory(sku="C")
    stock(kettle, north, 10)
    stock(cup, south, 10)
    with counted():
        order = place_apart(marketplace(hours=48), lines=[(kettle, 1), (cup, 1)])
    with counted():
        pack_all(order)
    first, second = order.shipments.filter(status=Shipment.Status.PACKED).order_by("pk")
    carrier = CarrierFactory()

    with counted():
        logistics.dispatch(first.pk, carrier_id=carrier.pk, tracking_number=tracking_number(), actor=SYSTEM)
    # The second parcel leaves after the deadline; the order was dispatched on time by the first.
    due(order, timezone.now())
    with counted():
        logistics.dispatch(second.pk, carrier_id=carrier.pk, tracking_number=tracking_number(), actor=SYSTEM)

    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    [row] = DailyDispatchDeadlines.objects.values_list("dispatched_with_deadline", "dispatched_on_time")
    assert row == (1, 1)


def test_rebuilding_the_rollups_gives_the_figures_counted_live(dispatched):
    def stored():
        return sorted(
            DailyDispatchDeadlines.objects.values_list(
                "day", "channel_id", "dispatched_with_deadline", "dispatched_on_time"
            )
        )

    live = stored()
    call_command("rebuild_rollups", "--check", stdout=StringIO())
    DailyDispatchDeadlines.objects.all().delete()

    call_command("rebuild_rollups", stdout=StringIO())

    assert stored() == live
    assert len(live) == 2
