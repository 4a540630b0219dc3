"""Addresses as people write them, through every channel (docs/architecture.md, "Addresses"): a whole
address in the street field is split, regions are stored by their official names, a region that does
not exist or is in the wrong place holds the order with the reason, a reviewer's correction is read
the same way, and a marketplace's masked phone is kept and flagged instead of refused."""

import importlib
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import translation

from analytics import selectors as analytics
from analytics.models import DailyProvinceOrders
from analytics.selectors import Filters, Period
from core.actors import SYSTEM
from orders import services as orders
from orders.models import Customer, Notification, Order
from orders.services.checks import describe
from orders.services.phones import format_phone, mask_phone
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, place_apart, staff, stock

pytestmark = pytest.mark.django_db

HELD, CONFIRMED = Order.Status.ON_HOLD, Order.Status.CONFIRMED
ORDERS = "/api/v1/orders/"


@pytest.fixture
def tea():
    product = ProductFactory(sku="TEA", unit_price=Decimal("30.00"))
    stock(product, WarehouseFactory(), 100)
    return product


def codes(order):
    return [reason["code"] for reason in order.hold_reasons]


def region(order):
    return (order.province, order.city, order.district, order.address)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("浙江省杭州市西湖区文三路 90 号", ("浙江省", "杭州市", "西湖区", "文三路 90 号")),
        ("浙江杭州西湖区文三路90号", ("浙江省", "杭州市", "西湖区", "文三路90号")),
        ("上海 浦东新区 张江路 1 号", ("上海市", "上海市", "浦东新区", "张江路 1 号")),
        ("广东 深圳 南山区 深南大道 9988 号", ("广东省", "深圳市", "南山区", "深南大道 9988 号")),
    ],
)
def test_whole_address_in_the_street_field_is_split_into_its_official_parts(tea, written, expected):
    order = place_apart(lines=[(tea, 1)], province="", city="", district="", address=written)

    assert region(order) == expected
    assert order.status == CONFIRMED, order.hold_reasons
    assert order.region_code.startswith(("33", "31", "44"))


def test_abbreviated_regions_are_stored_by_their_official_names(tea):
    order = place_apart(lines=[(tea, 1)], province="广东", city="深圳", district="南山")

    assert (order.province, order.city, order.district) == ("广东省", "深圳市", "南山区")
    assert order.status == CONFIRMED
    assert order.region_code == "440305"


def test_street_that_repeats_the_region_keeps_only_the_street(tea):
    order = place_apart(
        lines=[(tea, 1)], province="浙江省", city="杭州市", district="西湖区", address="浙江省杭州市西湖区文三路 90 号"
    )

    assert order.address == "文三路 90 号"


def test_city_in_another_province_holds_the_order_with_the_reason(tea):
    order = place_apart(lines=[(tea, 1)], province="江苏省", city="杭州市", district="西湖区")

    assert order.status == HELD
    assert "region_not_in" in codes(order)
    reason = next(r for r in order.hold_reasons if r["code"] == "region_not_in")
    with translation.override("en"):
        assert describe(reason) == "The city “杭州市” is not in 江苏省."
    with translation.override("zh-hans"):
        assert "杭州市" in describe(reason) and "江苏省" in describe(reason)
        assert "city" not in describe(reason)


def test_province_that_does_not_exist_holds_the_order(tea):
    order = place_apart(lines=[(tea, 1)], province="浙西省", city="杭州市")

    assert order.status == HELD
    assert codes(order) == ["region_unknown"]
    with translation.override("en"):
        assert "浙西省" in describe(order.hold_reasons[0])


def test_district_not_in_its_city_holds_the_order(tea):
    order = place_apart(lines=[(tea, 1)], province="江苏省", city="南京市", district="西湖区")

    assert order.status == HELD
    assert codes(order) == ["region_not_in"]


def test_api_order_with_a_whole_address_and_no_province_is_split(api, web, tea):
    body = {
        "channel_order_id": "WEB-ADDR-1",
        "recipient": "王小明",
        "phone": "139 1234 5678",
        "address": "北京市朝阳区建国路 88 号",
        "payment_method": "cod",
        "lines": [{"sku": "TEA", "quantity": 1}],
    }

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    assert region(order) == ("北京市", "北京市", "朝阳区", "建国路 88 号")
    assert response.json()["province"] == "北京市"


def test_api_order_to_a_region_that_does_not_exist_is_held_not_refused(api, web, tea):
    body = {
        "channel_order_id": "WEB-ADDR-2",
        "recipient": "王小明",
        "phone": "139 1234 5679",
        "province": "广东省",
        "city": "杭州市",
        "address": "文三路 90 号",
        "payment_method": "cod",
        "lines": [{"sku": "TEA", "quantity": 1}],
    }

    response = api.post(ORDERS, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == HELD
    assert Order.objects.get(channel_order_id="WEB-ADDR-2").hold_reasons[0]["code"] == "region_not_in"


def test_dashboard_counts_a_province_once_however_its_rows_were_written():
    web = ChannelFactory()
    day = date(2026, 3, 9)
    DailyProvinceOrders.objects.create(day=day, channel_id=web.pk, province="广东", orders=2, gmv=Decimal("60.00"))
    DailyProvinceOrders.objects.create(day=day, channel_id=web.pk, province="广东省", orders=3, gmv=Decimal("90.00"))
    DailyProvinceOrders.objects.create(day=day, channel_id=web.pk, province="浙江", orders=1, gmv=Decimal("30.00"))

    rows = analytics.per_province(Filters(Period(day, day)))

    assert [(row.label, row.orders, row.gmv) for row in rows] == [
        ("广东省", 5, Decimal("150.00")),
        ("浙江省", 1, Decimal("30.00")),
    ]


def test_corrected_address_is_read_like_intake_and_clears_the_region_reason(tea):
    order = place_apart(lines=[(tea, 1)], province="江苏省", city="杭州市", district="西湖区")
    reviewer = staff("Order reviewer")

    orders.update_delivery_address(order.pk, actor=reviewer, province="浙江")

    order.refresh_from_db()
    assert (order.province, order.city, order.district) == ("浙江省", "杭州市", "西湖区")
    assert order.region_code == "330106"
    assert "region_not_in" not in codes(order)


def test_correction_to_a_region_that_does_not_exist_is_refused_on_its_field(tea):
    order = place_apart(lines=[(tea, 1)])
    reviewer = staff("Order reviewer")

    with pytest.raises(ValidationError) as refused:
        orders.update_delivery_address(order.pk, actor=reviewer, city="苏州市")

    assert set(refused.value.message_dict) == {"city"}
    order.refresh_from_db()
    assert order.city == "杭州市"


def test_masked_marketplace_phone_is_kept_and_flagged_without_holding(tea):
    tmall = ChannelFactory(code="tmall", name="Tmall", kind="marketplace")

    order = place_apart(tmall, lines=[(tea, 1)], phone="138****8000", payment_method="e_wallet", paid_amount="30.00")

    assert order.phone == "138****8000"
    assert order.status == CONFIRMED
    assert codes(order) == ["phone_masked"]
    assert not Notification.objects.filter(order=order, medium="sms").exists()


def test_buyers_sharing_a_masked_phone_stay_different_customers(tea):
    tmall = ChannelFactory(code="tmall", name="Tmall", kind="marketplace")
    first = place_apart(tmall, lines=[(tea, 1)], phone="138****8000", recipient="王小明")
    second = place_apart(tmall, lines=[(tea, 1)], phone="138****8000", recipient="李小红")
    again = place_apart(tmall, lines=[(tea, 1)], phone="138****8000", recipient="王小明", address=first.address)

    assert first.customer_id != second.customer_id
    assert again.customer_id == first.customer_id
    assert Customer.objects.filter(phone__startswith="138****8000").count() == 2
    assert format_phone(first.customer.phone) == mask_phone(first.customer.phone) == "138****8000"
    # Many buyers share the number: it never counts as orders repeated to one phone.
    assert "repeat_phone" not in codes(again)


def test_a_phone_that_is_no_number_at_all_is_still_refused(tea):
    with pytest.raises(ValidationError) as refused:
        orders.place_order(
            orders.OrderInput(
                channel=ChannelFactory(),
                recipient="王小明",
                phone="12345",
                province="浙江省",
                city="杭州市",
                address="文三路 90 号",
                payment_method="cod",
                lines=[orders.LineInput(sku="TEA", quantity=1)],
            ),
            actor=SYSTEM,
        )
    assert "phone" in refused.value.message_dict


def test_a_masked_phone_is_shown_as_the_marketplace_gave_it():
    assert mask_phone("138****8000") == "138****8000"
    assert format_phone("138****8000") == "138****8000"


def test_orders_stored_before_get_their_provinces_official_names(tea):
    written = place_apart(lines=[(tea, 1)])
    Order.objects.filter(pk=written.pk).update(province="广东")
    unknown = place_apart(lines=[(tea, 1)])
    Order.objects.filter(pk=unknown.pk).update(province="火星")
    migration = importlib.import_module("orders.migrations.0025_order_region_code")

    migration.provinces_by_their_official_names(django_apps, None)

    assert Order.objects.get(pk=written.pk).province == "广东省"
    assert Order.objects.get(pk=unknown.pk).province == "火星"
