"""Shared test setup and the fixtures more than one test module uses (a fixture one module uses
stays in it). Tests that need PostgreSQL or Chromium are skipped with a reason on a newcomer's
machine, and fail in CI (CI=true) so a missing service can never pass silently. So do tests that
need Redis (`redis`): the suite itself counts in the database even when REDIS_URL is set, and
those tests put Redis in place themselves, at TEST_REDIS_URL."""

import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection

from analytics import services as rollups
from logistics import services as logistics
from logistics.models import Shipment
from orders import services as orders
from orders.models import Channel, Order, OrderEvent
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    channel_client,
    place,
    staff,
    stock,
)

Status = Order.Status

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Tests that need Redis use this database of it (not REDIS_URL's, which may hold real data) and
# remove only the keys they wrote.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run inside the test, at once, so their effects can be checked.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The suite counts in the database whatever REDIS_URL says, so no run flushes a Redis that
    # holds real data and runs on one machine share nothing; the `redis` tests set Redis up
    # themselves (docs/architecture.md, "The channel API").
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ordercycle_cache"}
    }
    # Tests place orders on fixed days (the dashboard's week in March 2025) that fall behind intake's
    # floor for order dates as time goes by; the tests of the floor set their own.
    settings.ORDER_DATE_MAX_DAYS_BACK = 365 * 100


def _missing(marker_name):
    if marker_name == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ordercycle"
    if marker_name == "browser" and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if marker_name == "gettext" and not (shutil.which("xgettext") and shutil.which("msgmerge")):
        return "needs GNU gettext to extract messages (Debian: apt-get install gettext)"
    if marker_name == "redis" and not _redis_answers():
        return f"needs Redis at {TEST_REDIS_URL} (Debian: apt-get install redis-server; or set TEST_REDIS_URL)"
    return None


def _redis_answers():
    import redis

    try:
        return redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False


@pytest.fixture(autouse=True)
def _default_language():
    """A request in Chinese leaves its language active in the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _needs(request):
    for marker_name in ("postgres", "browser", "gettext", "redis"):
        if request.node.get_closest_marker(marker_name) is None:
            continue
        missing = _missing(marker_name)
        if missing and IN_CI:
            pytest.fail(f"CI must run this test but cannot: {missing}", pytrace=False)
        if missing:
            pytest.skip(missing)


@pytest.fixture
def browser(_needs, monkeypatch):
    """Headless Chromium for `browser` tests, after `_needs` has skipped or failed them when it is
    missing. Playwright's sync API keeps an event loop running in this thread, so Django's guard
    against the ORM in async code would stop the test's own (synchronous) queries; and while it runs,
    asgiref files this thread's database connections apart from the usual ones, so they are closed
    here or they would outlive the test database."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
    finally:
        connections.close_all()
        playwright.stop()


# The channel API ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_rate_limits():
    """Throttle counts start from zero in every test (the API's test modules use it for each test)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def requests_keep_the_test_connection():
    """schemathesis calls the WSGI app itself, and Django closes the database connection after each
    request, which would end the test's transaction; Django's own test client stops that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def web():
    return ChannelFactory(code="web", name="Web shop")


@pytest.fixture
def app_channel():
    return ChannelFactory(code="app", name="App", kind=Channel.Kind.APP)


@pytest.fixture
def api(web):
    """An API client with the web shop's token."""
    return channel_client(web)


# The dashboard -----------------------------------------------------------------------------------


def _at(day, hour, minute=0):
    return datetime(2025, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def _stamp_events(order, times):
    """Move the order's events (by the status each reached) to the hand-built timeline."""
    for to_status, moment in times.items():
        assert OrderEvent.objects.filter(order=order, to_status=to_status).update(created_at=moment) == 1


def _stamp_shipment(shipment, **times):
    Shipment.objects.filter(pk=shipment.pk).update(**times)


@pytest.fixture
def dashboard_week():
    """Four orders in the week of 8-14 March 2025 and two in the week before, with their events,
    payments and parcels moved to known times; the rollups recomputed from them.

    This week:  o1 web 浙江省 A×2 = 50.00, paid at intake, delivered on time (shipped 4 h after the
                   order, delivered 48 h later);
                o2 web 广东省 B×1 = 40.00, cash on delivery, cancelled after 2 h;
                o3 app 浙江省 A×1 + C×1 = 35.00 from two warehouses, paid later; one parcel shipped
                   after 2 h and delivered late after 72 h, the other shipped after 6 h and overdue;
                o4 app 江苏省 B×3 = 120.00, held, approved by the reviewer after 3 h.
    Week before: p1 web A×1 = 25.00 paid; p2 app B×1 = 40.00 unpaid."""
    north, south = WarehouseFactory(name="北仓"), WarehouseFactory(name="南仓")
    a, b = ProductFactory(sku="A", unit_price=Decimal("25.00")), ProductFactory(sku="B", unit_price=Decimal("40.00"))
    c = ProductFactory(sku="C", name="茶杯", unit_price=Decimal("10.00"))
    for product in (a, b):
        stock(product, north, 100)
    stock(c, south, 100)
    web = ChannelFactory(code="web", name="Web shop")
    app = ChannelFactory(code="app", name="手机 App", kind="app")
    operator, reviewer = staff("Warehouse operator", first_name="Li"), staff("Order reviewer", first_name="Zhou")

    def order(number, channel, lines, placed_at, **extra):
        return place(
            channel,
            lines=lines,
            placed_at=placed_at,
            phone=f"1390000{number:04d}",
            address=f"文三路 {number} 号",
            **extra,
        )

    o1 = order(1, web, [(a, 2)], _at(8, 10), province="浙江省", payment_method="card", paid_amount="50.00")
    o2 = order(2, web, [(b, 1)], _at(9, 10), province="广东省", city="广州市", district="天河区")
    o3 = order(3, app, [(a, 1), (c, 1)], _at(10, 10), province="浙江省")
    o4 = order(4, app, [(b, 3)], _at(12, 10), province="江苏省", city="", district="")
    order(5, web, [(a, 1)], _at(2, 10), payment_method="card", paid_amount="25.00")
    order(6, app, [(b, 1)], _at(5, 10))

    advance(o1, "delivered", actor=operator)
    orders.cancel(o2.pk, actor=staff("Customer service"), reason="changed mind")
    advance(o3, "shipped", actor=operator)
    orders.record_payment(o3.pk, method="cod", amount=Decimal("35.00"), actor=staff("Finance"))
    orders.approve(o4.pk, actor=reviewer)

    [s1] = o1.shipments.all()
    s2, s3 = o3.shipments.get(warehouse=north), o3.shipments.get(warehouse=south)
    logistics.mark_delivered(s2.pk, actor=operator)

    _stamp_events(
        o1,
        {
            Status.CONFIRMED: _at(8, 10),
            Status.PICKING: _at(8, 11),
            Status.PACKED: _at(8, 12),
            Status.SHIPPED: _at(8, 14),
            Status.DELIVERED: _at(10, 14),
        },
    )
    _stamp_shipment(
        s1,
        created_at=_at(8, 11),
        packed_at=_at(8, 12),
        shipped_at=_at(8, 14),
        delivered_at=_at(10, 14),
        expected_delivery_on=date(2025, 3, 10),
    )
    _stamp_events(o2, {Status.CONFIRMED: _at(9, 10), Status.CANCELLED: _at(9, 12)})
    _stamp_events(
        o3,
        {
            Status.CONFIRMED: _at(10, 10),
            Status.PICKING: _at(10, 11),
            Status.PACKED: _at(10, 11, 40),
            Status.PARTIALLY_SHIPPED: _at(10, 12),
            Status.SHIPPED: _at(10, 16),
        },
    )
    _stamp_shipment(
        s2,
        created_at=_at(10, 11),
        packed_at=_at(10, 11, 30),
        shipped_at=_at(10, 12),
        delivered_at=_at(13, 12),
        expected_delivery_on=date(2025, 3, 12),
    )
    _stamp_shipment(
        s3,
        created_at=_at(10, 11),
        packed_at=_at(10, 11, 40),
        shipped_at=_at(10, 16),
        expected_delivery_on=date(2025, 3, 11),
    )
    _stamp_events(o4, {Status.ON_HOLD: _at(12, 10), Status.CONFIRMED: _at(12, 13)})
    rollups.rebuild()
    return {
        "web": web,
        "app": app,
        "north": north,
        "south": south,
        "operator": operator,
        "reviewer": reviewer,
        "a": a,
        "b": b,
        "c": c,
        "overdue": s3,
    }
