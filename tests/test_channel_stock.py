"""Stock per channel: a buffer per channel and product (units, or a percentage of what is
available) kept back from the channel. The products API answers each channel its own
available-to-sell, intake holds an order over the channel's share for stock with that reason, and
managers keep the buffers in the console or upload them from Excel."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.actors import SYSTEM
from inventory.models import BundleComponent, StockLevel
from orders.models import ChannelStockBuffer, Order
from orders.services.checks import describe
from orders.services.stock_buffers import BufferRow, save_stock_buffers
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    buyer_apart,
    channel_client,
    order_input,
    place_apart,
    staff,
    stock,
)
from tests.test_import_stock_products import workbook

Status = Order.Status


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def taobao():
    return ChannelFactory(code="taobao", name="Taobao", kind="marketplace")


@pytest.fixture
def socks(warehouse):
    product = ProductFactory(sku="SOCKS", name="Socks")
    stock(product, warehouse, 10)
    return product


def keep_back(channel, product, *, units=None, percent=None):
    return ChannelStockBuffer.objects.create(channel=channel, product=product, units=units, percent=percent)


def codes(order):
    return [reason["code"] for reason in order.hold_reasons]


def reserved(product):
    return StockLevel.objects.filter(product=product).aggregate(total=Sum("reserved"))["total"]


def available_by_sku(channel, skus):
    response = channel_client(channel).get("/api/v1/products/", {"sku": ",".join(skus)})
    assert response.status_code == 200, response.content
    return {row["sku"]: row["available"] for row in response.json()["results"]}


# The products API -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_the_products_api_answers_each_channel_its_own_available_to_sell(web, taobao, socks):
    app = ChannelFactory(code="app", name="App", kind="app")
    keep_back(taobao, socks, units=3)
    # A quarter of 10 is 2.5 units: at least that stays back, so 3.
    keep_back(app, socks, percent=Decimal("25"))

    assert available_by_sku(web, ["SOCKS"]) == {"SOCKS": 10}
    assert available_by_sku(taobao, ["SOCKS"]) == {"SOCKS": 7}
    assert available_by_sku(app, ["SOCKS"]) == {"SOCKS": 7}


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_a_channels_default_buffer_applies_to_products_without_their_own_and_never_goes_below_zero(
    taobao, socks, warehouse
):
    hats = ProductFactory(sku="HATS")
    stock(hats, warehouse, 4)
    taobao.stock_buffer_units = 6
    taobao.save()
    keep_back(taobao, socks, units=1)

    assert available_by_sku(taobao, ["SOCKS", "HATS"]) == {"SOCKS": 9, "HATS": 0}


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_a_bundle_offers_a_channel_what_its_components_shares_make(web, taobao, socks, warehouse):
    cups = ProductFactory(sku="CUPS")
    stock(cups, warehouse, 30)
    kit = ProductFactory(sku="KIT")
    BundleComponent.objects.create(bundle=kit, component=socks, quantity=1)
    BundleComponent.objects.create(bundle=kit, component=cups, quantity=4)
    # 30 cups make 7 kits; 10 cups kept back from Taobao leave 20, which make 5.
    keep_back(taobao, cups, units=10)

    assert available_by_sku(web, ["KIT"]) == {"KIT": 7}
    assert available_by_sku(taobao, ["KIT", "CUPS"]) == {"KIT": 5, "CUPS": 20}


# Intake -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_order_over_the_channels_share_is_held_for_stock_naming_the_buffer(web, taobao, socks):
    keep_back(taobao, socks, units=3)

    within = place_apart(taobao, lines=[(socks, 7)])
    over = place_apart(taobao, lines=[(socks, 1)])

    assert within.status == Status.CONFIRMED
    assert over.status == Status.ON_HOLD
    assert codes(over) == ["over_channel_share"]
    assert "SOCKS: 1" in describe(over.hold_reasons[0])
    assert "keeps these units back for other channels" in describe(over.hold_reasons[0])
    assert reserved(socks) == 7
    # The units kept back from Taobao are still there for the web shop.
    assert place_apart(web, lines=[(socks, 3)]).status == Status.CONFIRMED


@pytest.mark.django_db
def test_a_percentage_buffer_keeps_back_a_share_of_what_is_available_rounded_up(taobao, socks):
    keep_back(taobao, socks, percent=Decimal("15"))

    # 15% of 10 is 1.5: 2 units stay back, 8 may be ordered.
    assert codes(place_apart(taobao, lines=[(socks, 9)])) == ["over_channel_share"]
    assert place_apart(taobao, lines=[(socks, 8)]).status == Status.CONFIRMED


@pytest.mark.django_db
def test_an_order_short_of_stock_beyond_the_buffer_names_both_reasons(taobao, socks):
    keep_back(taobao, socks, units=4)

    order = place_apart(taobao, lines=[(socks, 12)])

    assert codes(order) == ["over_channel_share", "out_of_stock"]
    assert "SOCKS: 4" in describe(order.hold_reasons[0])
    assert "SOCKS: 2" in describe(order.hold_reasons[1])
    assert reserved(socks) == 0


@pytest.mark.django_db
def test_a_bundle_order_respects_its_components_buffers(taobao, socks, warehouse):
    cups = ProductFactory(sku="CUPS")
    stock(cups, warehouse, 8)
    kit = ProductFactory(sku="KIT")
    BundleComponent.objects.create(bundle=kit, component=socks, quantity=1)
    BundleComponent.objects.create(bundle=kit, component=cups, quantity=4)
    keep_back(taobao, cups, units=4)

    order = place_apart(taobao, lines=[(kit, 2)])

    assert codes(order) == ["over_channel_share"]
    assert "CUPS: 4" in describe(order.hold_reasons[0])
    assert place_apart(taobao, lines=[(kit, 1)]).status == Status.CONFIRMED


@pytest.mark.django_db
def test_a_batch_import_holds_each_channels_orders_by_its_own_share(web, taobao, socks):
    from orders import services as orders

    keep_back(taobao, socks, units=5)

    placed = orders.place_orders(
        [
            order_input(taobao, lines=[(socks, 4)], phone="13600000001", address="新华路 1 号"),
            order_input(taobao, lines=[(socks, 2)], phone="13600000002", address="新华路 2 号"),
            order_input(web, lines=[(socks, 6)], phone="13600000003", address="新华路 3 号"),
        ],
        actor=SYSTEM,
    )

    # The first Taobao order leaves 6 available, of which Taobao may take 1; the web shop takes all 6.
    assert [codes(outcome.order) for outcome in placed] == [[], ["over_channel_share"], []]
    assert reserved(socks) == 10


@pytest.mark.django_db
def test_the_buffers_cost_place_order_no_statement_of_its_own(taobao, socks, warehouse):
    from orders import services as orders

    cups = ProductFactory(sku="CUPS")
    stock(cups, warehouse, 10)

    def statements():
        with CaptureQueriesContext(connection) as queries:
            orders.place_order(order_input(taobao, lines=[(socks, 1), (cups, 1)], **buyer_apart()), actor=SYSTEM)
        return len(queries)

    statements()  # the first order reads what is cached afterwards (the intake settings)
    without = statements()
    keep_back(taobao, socks, units=2)
    taobao.stock_buffer_percent = Decimal("10")
    taobao.save()

    assert statements() == without


# The console and the upload ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_sets_a_buffer_and_a_channels_default_in_the_console(taobao, socks, warehouse):
    client = Client()
    client.force_login(staff("Manager"))

    assert client.get("/admin/orders/channelstockbuffer/add/").status_code == 200
    added = client.post(
        "/admin/orders/channelstockbuffer/add/", {"channel": taobao.pk, "product": socks.pk, "units": "3"}
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    buffer = ChannelStockBuffer.objects.get()
    assert (buffer.units, buffer.percent, buffer.updated_by.groups.get().name) == (3, None, "Manager")

    changed = client.post(f"/admin/orders/channelstockbuffer/{buffer.pk}/change/", {"units": "", "percent": "12.5"})
    assert changed.status_code == 302, changed.content.decode()[:3000]
    assert ChannelStockBuffer.objects.values_list("units", "percent").get() == (None, Decimal("12.50"))
    assert "Taobao" in client.get("/admin/orders/channelstockbuffer/").content.decode()

    both = client.post(
        f"/admin/orders/channelstockbuffer/{buffer.pk}/change/", {"units": "2", "percent": "5"}
    ).content.decode()
    assert "Keep back units or a percentage: fill in one of the two." in both

    page = client.get(f"/admin/orders/channel/{taobao.pk}/change/").content.decode()
    assert "default stock buffer (units)" in page.lower()


@pytest.mark.django_db
def test_a_bundle_gets_no_buffer_of_its_own_in_the_console(taobao, socks):
    kit = ProductFactory(sku="KIT")
    BundleComponent.objects.create(bundle=kit, component=socks, quantity=1)
    client = Client()
    client.force_login(staff("Manager"))

    page = client.post(
        "/admin/orders/channelstockbuffer/add/", {"channel": taobao.pk, "product": kit.pk, "units": "3"}
    ).content.decode()

    assert "set the buffer on its components" in page
    assert not ChannelStockBuffer.objects.exists()


@pytest.mark.django_db
def test_a_manager_uploads_buffers_from_excel_adding_changing_and_removing(web, taobao, socks, warehouse):
    hats = ProductFactory(sku="HATS")
    keep_back(taobao, hats, units=5)
    keep_back(web, socks, units=1)
    client = Client()
    client.force_login(staff("Manager"))
    assert client.get(reverse("admin:orders_channelstockbuffer_import_template")).status_code == 200
    rows = [
        ["channel", "sku", "units", "percent"],
        ["taobao", "SOCKS", "", "20%"],
        ["taobao", "HATS", "", ""],
        ["web", "SOCKS", 4, ""],
    ]

    previewed = client.post(reverse("admin:orders_channelstockbuffer_import"), {"file": workbook(rows)}, follow=True)
    assert previewed.context["job"].errors == []
    assert ChannelStockBuffer.objects.count() == 2, "the check keeps nothing"
    client.post(previewed.context["confirm_url"])

    assert set(ChannelStockBuffer.objects.values_list("channel__code", "product__sku", "units", "percent")) == {
        ("taobao", "SOCKS", None, Decimal("20.00")),
        ("web", "SOCKS", 4, None),
    }


@pytest.mark.django_db
def test_bad_upload_rows_are_named_by_row_and_column_and_nothing_is_saved(taobao, socks):
    kit = ProductFactory(sku="KIT")
    BundleComponent.objects.create(bundle=kit, component=socks, quantity=1)
    client = Client()
    client.force_login(staff("Manager"))
    rows = [
        ["channel", "sku", "units", "percent"],
        ["taobao", "SOCKS", 2, ""],
        ["nope", "SOCKS", 1, ""],
        ["taobao", "NOPE", 1, ""],
        ["taobao", "SOCKS", 3, ""],
        ["taobao", "KIT", 1, ""],
        ["taobao", "HATS", 1.5, ""],
    ]
    ProductFactory(sku="HATS")
    rows.append(["taobao", "HATS", "", "120"])
    rows.append(["taobao", "CAPS", 1, "5"])
    ProductFactory(sku="CAPS")

    previewed = client.post(reverse("admin:orders_channelstockbuffer_import"), {"file": workbook(rows)}, follow=True)

    problems = {(error["row"], error["column"]) for error in previewed.context["job"].errors}
    assert problems == {
        (3, "channel"),
        (4, "sku"),
        (5, "sku"),
        (6, "sku"),
        (7, "units"),
        (8, "percent"),
        (9, "percent"),
    }
    assert previewed.context["confirm_url"] == "" or not ChannelStockBuffer.objects.exists()
    assert not ChannelStockBuffer.objects.exists()


@pytest.mark.django_db
def test_only_those_allowed_change_buffers(taobao, socks):
    with pytest.raises(PermissionDenied):
        save_stock_buffers([BufferRow("taobao", "SOCKS", 1)], actor=staff("Customer service"))
    client = Client()
    client.force_login(staff("Customer service"))
    assert client.get("/admin/orders/channelstockbuffer/add/").status_code == 403


# Races ------------------------------------------------------------------------------------------

RACE_TIMEOUT = 60


def race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            connection.ensure_connection()
            barrier.wait(RACE_TIMEOUT)
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 - the test inspects what each racer met
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RACE_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racer is still waiting: deadlock?"
    return outcomes


def assert_stock_consistent():
    from django.db.models import F, Q

    from inventory.selectors import ledger_mismatches

    assert list(ledger_mismatches()) == []
    assert not StockLevel.objects.filter(Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_channels_ordering_the_last_units_at_once_never_take_past_their_shares(warehouse):
    web = ChannelFactory(code="web", name="Web shop")
    taobao = ChannelFactory(code="taobao", name="Taobao", kind="marketplace")
    socks = ProductFactory(sku="SOCKS")
    stock(socks, warehouse, 6)
    # Each may take 4 of 6; whichever comes second finds 3 left, of which it may take 1.
    keep_back(web, socks, units=2)
    keep_back(taobao, socks, units=2)

    def order_from(channel, n):
        return lambda: place_apart(channel, lines=[(socks, 3)], channel_order_id=f"R-{channel.code}-{n}")

    outcomes = race(order_from(web, 1), order_from(taobao, 1))

    assert all(isinstance(outcome, Order) for outcome in outcomes), outcomes
    statuses = sorted(Order.objects.get(pk=outcome.pk).status for outcome in outcomes)
    assert statuses == [Status.CONFIRMED, Status.ON_HOLD]
    held = Order.objects.get(status=Status.ON_HOLD)
    assert codes(held) == ["over_channel_share"]
    assert "SOCKS: 2" in describe(held.hold_reasons[0])
    assert reserved(socks) == 3
    assert_stock_consistent()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_orders_of_one_channel_at_once_leave_its_buffer_untouched(warehouse):
    taobao = ChannelFactory(code="taobao", name="Taobao", kind="marketplace")
    web = ChannelFactory(code="web", name="Web shop")
    socks = ProductFactory(sku="SOCKS")
    stock(socks, warehouse, 4)
    keep_back(taobao, socks, units=1)

    def order_from(channel, n):
        return lambda: place_apart(channel, lines=[(socks, 1)], channel_order_id=f"M-{channel.code}-{n}")

    outcomes = race(*(order_from(taobao, n) for n in range(4)), order_from(web, 9))

    assert all(isinstance(outcome, Order) for outcome in outcomes), outcomes
    placed = [Order.objects.get(pk=outcome.pk) for outcome in outcomes]
    confirmed_taobao = [o for o in placed[:4] if o.status == Status.CONFIRMED]
    held_taobao = [o for o in placed[:4] if o.status == Status.ON_HOLD]
    # Taobao never takes the last unit; the web shop may, if it comes before the fourth Taobao order.
    assert len(confirmed_taobao) + len(held_taobao) == 4
    # A Taobao order after the web shop took the last unit is over its share and short of stock too.
    assert all(
        sorted(codes(o)) in (["over_channel_share"], ["out_of_stock", "over_channel_share"]) for o in held_taobao
    )
    assert placed[4].status == Status.CONFIRMED or codes(placed[4]) == ["out_of_stock"]
    level = StockLevel.objects.get(product=socks)
    assert level.reserved <= level.on_hand == 4
    assert level.reserved == len(confirmed_taobao) + (placed[4].status == Status.CONFIRMED)
    assert len(confirmed_taobao) <= 3
    assert_stock_consistent()
