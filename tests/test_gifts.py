"""Gift rules (赠品): intake adds a free gift line to the orders that meet a rule (date range,
channel, minimum total, a SKU), while the gift's stock and the rule's maximum last; a gift never
holds an order, is not in the subtotal and is never refunded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from aftersales.models import Outcome
from analytics.models import DailyProductSales
from core.actors import SYSTEM
from core.transitions import TransitionRefused
from inventory import services as inventory
from inventory.models import StockLevel
from logistics.selectors import pick_sheet
from orders import services as orders
from orders.models import Allocation, GiftRule, IntakeSettings, OrderLine
from tests.factories import (
    ChannelFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    order_input,
    pick_all,
    place,
    staff,
    stock,
)
from tests.test_api_orders import ORDERS, order_body
from tests.test_exchanges_repairs import inspected
from tests.test_import_orders import check, confirm, row, xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def kettle(warehouse):
    product = ProductFactory(sku="KETTLE", name="Kettle", unit_price=Decimal("199.00"))
    stock(product, warehouse, 20)
    return product


@pytest.fixture
def mug(warehouse):
    product = ProductFactory(sku="MUG", name="Mug", unit_price=Decimal("25.00"))
    stock(product, warehouse, 20)
    return product


@pytest.fixture
def coaster(warehouse):
    product = ProductFactory(sku="COASTER", name="Coaster", unit_price=Decimal("5.00"))
    stock(product, warehouse, 3)
    return product


def rule(gift, **values):
    values.setdefault("name", "Coaster with every order")
    return GiftRule.objects.create(gift=gift, **values)


def gift_lines(order):
    return list(order.lines.filter(is_gift=True).values_list("sku", "quantity", "unit_price", "line_total"))


def reserved(product):
    return StockLevel.objects.get(product=product).reserved


def test_a_rule_without_conditions_gives_its_gift_free_and_reserved(kettle, coaster):
    rule(coaster, quantity=2)

    order = place(lines=[(kettle, 1)])

    assert gift_lines(order) == [("COASTER", 2, Decimal("0.00"), Decimal("0.00"))]
    assert order.subtotal == order.total == Decimal("199.00")
    assert reserved(coaster) == 2
    assert Allocation.objects.filter(line__order=order, line__is_gift=True).count() == 1
    assert GiftRule.objects.get().given == 2


def test_the_minimum_total_is_in_the_orders_currency(kettle, mug, coaster):
    rule(coaster, min_total=Decimal("100.00"), currency="CNY")

    assert gift_lines(place(lines=[(mug, 1)])) == []
    assert gift_lines(place(lines=[(kettle, 1)], phone="13800138001")) != []
    assert gift_lines(place(lines=[(kettle, 1)], currency="USD", phone="13800138002")) == []


def test_a_sku_rule_gives_to_orders_containing_any_of_its_skus(kettle, mug, coaster):
    rule(coaster, skus="KETTLE, TEAPOT")

    assert gift_lines(place(lines=[(mug, 2)])) == []
    assert gift_lines(place(lines=[(mug, 1), (kettle, 1)], phone="13800138001")) != []


def test_a_rule_gives_only_within_its_dates(kettle, coaster):
    now = timezone.now()
    rule(coaster, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))

    assert gift_lines(place(lines=[(kettle, 1)], placed_at=now - timedelta(days=2))) == []
    assert gift_lines(place(lines=[(kettle, 1)], placed_at=now, phone="13800138001")) != []
    assert gift_lines(place(lines=[(kettle, 1)], placed_at=now + timedelta(days=1), phone="13800138002")) == []


def test_a_rule_of_one_channel_gives_nothing_on_another(kettle, coaster):
    market = ChannelFactory(code="tmall", name="Tmall")
    rule(coaster, channel=market)

    assert gift_lines(place(lines=[(kettle, 1)])) == []
    assert gift_lines(place(market, lines=[(kettle, 1)], phone="13800138001")) != []


def test_an_inactive_rule_gives_nothing(kettle, coaster):
    rule(coaster, active=False)

    assert gift_lines(place(lines=[(kettle, 1)])) == []


def test_when_the_gift_runs_out_the_order_goes_on_without_it_and_its_timeline_says_so(kettle, coaster):
    rule(coaster, quantity=2)

    first = place(lines=[(kettle, 1)])
    second = place(lines=[(kettle, 1)], phone="13800138001")

    assert gift_lines(first) != [] and gift_lines(second) == []
    assert second.status == "confirmed"
    assert "not added: out of stock" in second.events.get().reason
    assert reserved(coaster) == 2


def test_the_rules_maximum_stops_it_even_with_stock_left(kettle, coaster):
    rule(coaster, max_given=1)

    first = place(lines=[(kettle, 1)])
    second = place(lines=[(kettle, 1)], phone="13800138001")

    assert gift_lines(first) != [] and gift_lines(second) == []
    assert "maximum" in second.events.get().reason


def test_a_held_order_gets_its_gift_line_without_holding_for_it(kettle, coaster):
    rule(coaster)

    order = place(lines=[(kettle, 1)], address="")  # held: no street address

    assert order.status == "on_hold"
    assert gift_lines(order) == [("COASTER", 1, Decimal("0.00"), Decimal("0.00"))]
    assert reserved(coaster) == 0


def test_approving_drops_a_gift_whose_stock_ran_out_while_the_order_was_held(
    kettle, coaster, django_capture_on_commit_callbacks
):
    rule(coaster)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(lines=[(kettle, 1)], address="")  # held: no street address
    gift_stock = StockLevel.objects.get(product=coaster)
    inventory.adjust(stock_level_id=gift_stock.pk, change=-3, reason="damaged", actor=SYSTEM)
    order.refresh_from_db()
    sold_before = DailyProductSales.objects.filter(product_id=coaster.pk).aggregate(Sum("quantity"))["quantity__sum"]

    with django_capture_on_commit_callbacks(execute=True):
        orders.approve(order.pk, actor=SYSTEM, reason="Address confirmed by phone")

    order.refresh_from_db()
    assert order.status == "confirmed"
    assert gift_lines(order) == []
    assert reserved(kettle) == 1 and reserved(coaster) == 0
    approval = order.events.latest("created_at")
    assert (
        approval.reason
        == "Address confirmed by phone\nGift “COASTER” dropped: no longer in stock when the order's stock was reserved."
    )
    sold_after = DailyProductSales.objects.filter(product_id=coaster.pk).aggregate(Sum("quantity"))["quantity__sum"]
    assert (sold_before, sold_after or 0) == (1, 0)


def test_a_payment_confirms_an_order_whose_gift_ran_out_while_it_waited_without_the_gift(kettle, coaster):
    IntakeSettings.objects.update_or_create(pk=1, defaults={"reserve_stock_awaiting_payment": False})
    rule(coaster)
    order = place(lines=[(kettle, 1)], payment_method="bank_transfer")
    assert order.status == "awaiting_payment"
    assert gift_lines(order) == [("COASTER", 1, Decimal("0.00"), Decimal("0.00"))]
    gift_stock = StockLevel.objects.get(product=coaster)
    inventory.adjust(stock_level_id=gift_stock.pk, change=-3, reason="damaged", actor=SYSTEM)

    orders.record_payment(order.pk, method="bank_transfer", amount=Decimal("199.00"), actor=staff("Finance"))

    order.refresh_from_db()
    assert order.status == "confirmed"
    assert gift_lines(order) == []
    assert reserved(kettle) == 1
    assert order.events.latest("created_at").reason.endswith(
        "Gift “COASTER” dropped: no longer in stock when the order's stock was reserved."
    )


def test_approving_is_refused_when_a_sold_line_is_short_and_keeps_the_gift(kettle, coaster):
    rule(coaster)
    order = place(lines=[(kettle, 1)], address="")
    for product in (kettle, coaster):
        level = StockLevel.objects.get(product=product)
        inventory.adjust(stock_level_id=level.pk, change=-level.on_hand, reason="damaged", actor=SYSTEM)

    with pytest.raises(TransitionRefused, match="KETTLE"):
        orders.approve(order.pk, actor=SYSTEM)

    order.refresh_from_db()
    assert order.status == "on_hold"
    assert gift_lines(order) == [("COASTER", 1, Decimal("0.00"), Decimal("0.00"))]


def test_an_import_gives_gifts_while_stock_lasts_order_by_order(web, kettle, coaster):
    rule(coaster, quantity=2)
    clerk = staff("Customer service")
    content = xlsx([row(f"G-{n}", "KETTLE", 1, phone=f"1380013800{n}") for n in range(3)])

    job = confirm(check(content, actor=clerk), actor=clerk)

    assert job.status == "done", job.errors
    given = OrderLine.objects.filter(is_gift=True).values_list("order__channel_order_id", flat=True)
    assert list(given) == ["G-0"]
    assert reserved(coaster) == 2


def test_the_api_answer_flags_the_gift(api, kettle, coaster):
    rule(coaster)

    response = api.post(ORDERS, order_body(("KETTLE", 1)), format="json")

    assert response.status_code == 201, response.content
    assert [(line["sku"], line["is_gift"], line["line_total"]) for line in response.json()["lines"]] == [
        ("KETTLE", False, "199.00"),
        ("COASTER", True, "0.00"),
    ]


def test_a_returned_gift_refunds_nothing(kettle, coaster, warehouse):
    rule(coaster)
    order = advance(place(lines=[(kettle, 1)], payment_method="card", paid_amount="199.00"), "delivered")

    case = inspected(order, (coaster, 1), wanted=Outcome.REFUND, warehouse=warehouse)

    from aftersales import services as aftersales

    assert aftersales.refund_value(case).goods == Decimal("0.00")


def test_the_order_page_pick_list_and_packing_slip_show_the_gift(kettle, coaster):
    rule(coaster)
    order = place(lines=[(kettle, 1)])
    client = Client()
    client.force_login(staff())

    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert 'class="oc-badge oc-gift">Gift</span>' in page

    wave = pick_all(order)[0]
    sheet = pick_sheet(wave.pk)
    assert [(row.sku, row.gift) for row in sheet.rows] == [("COASTER", True), ("KETTLE", False)]
    pick_list = client.get(f"/admin/logistics/pickwave/{wave.pk}/print/").content.decode()
    assert "[Gift]" in pick_list
    slip = client.get(f"/admin/logistics/shipment/{order.shipments.get().pk}/packing-slip/").content.decode()
    assert "[Gift]" in slip


def test_a_manager_edits_gift_rules_in_the_console(coaster):
    client = Client()
    client.force_login(staff("Manager"))

    response = client.post(
        "/admin/orders/giftrule/add/",
        {
            "name": "Spring gift",
            "active": "on",
            "currency": "cny",
            "skus": "NOPE",
            "gift": coaster.pk,
            "quantity": "1",
        },
    )

    assert response.status_code == 200
    assert "Unknown SKU: NOPE." in response.content.decode()
    assert not GiftRule.objects.exists()


def test_a_person_taking_an_order_in_the_console_gets_the_gift_too(kettle, coaster):
    rule(coaster)

    result = orders.place_order(order_input(lines=[(kettle, 1)]), actor=staff("Customer service"))

    assert gift_lines(result.order) != []


def test_an_import_never_gives_past_the_rules_maximum_and_the_ledger_stays_whole(web, kettle, coaster, warehouse):
    from inventory.selectors import ledger_mismatches

    stock(coaster, warehouse, 10)
    rule(coaster, max_given=2)
    clerk = staff("Customer service")
    content = xlsx([row(f"M-{n}", "KETTLE", 1, phone=f"1380013800{n}", address=f"文三路 {n} 号") for n in range(4)])

    job = confirm(check(content, actor=clerk), actor=clerk)

    assert job.status == "done", job.errors
    assert OrderLine.objects.filter(is_gift=True).count() == 2
    assert reserved(coaster) == 2
    assert GiftRule.objects.get().given == 2
    assert not ledger_mismatches().exists()


def test_the_order_list_items_mark_the_gift(kettle, coaster):
    from orders.selectors import lines_of_orders

    rule(coaster)
    order = place(lines=[(kettle, 1)])

    assert [line[:2] for line in lines_of_orders([order.pk])[order.pk]] == [("KETTLE", 1), ("COASTER (Gift)", 1)]
    client = Client()
    client.force_login(staff())
    assert "COASTER (Gift)" in client.get("/admin/orders/order/").content.decode()
