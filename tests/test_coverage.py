"""Where carrier services deliver (docs/architecture.md, "Reachability"): coverage by province, city
and district with excluded areas, uploaded as a sheet; the shipping rules never choose a service that
cannot reach the address and say so; an order no active service reaches is held at intake, and a
corrected address is checked again."""

import io
from decimal import Decimal
from itertools import count

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from openpyxl import Workbook

from core.actors import SYSTEM
from core.spreadsheets import imports
from logistics import selectors
from logistics import services as logistics
from logistics.coverage_sheet import COVERAGE_IMPORT
from logistics.models import ServiceCoverage
from logistics.services.rules import plan_parcels
from orders import services as orders
from orders.models import Order
from orders.services.checks import describe
from tests.factories import CarrierFactory, CarrierServiceFactory, ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = pytest.mark.django_db

_buyers = count(1)
HANGZHOU = {"province": "浙江省", "city": "杭州市", "district": "上城区"}
WEST_LAKE = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}
NANJING = {"province": "江苏省", "city": "南京市", "district": "鼓楼区"}


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def zhejiang_only():
    """A cheap service of a regional carrier covering 浙江 except 杭州 西湖区."""
    service = CarrierServiceFactory(
        carrier=CarrierFactory(code="local", name="Local Express"), code="standard", base_fee=Decimal("3")
    )
    ServiceCoverage.objects.create(service=service, region_code="330000", region="浙江省")
    ServiceCoverage.objects.create(service=service, region_code="330106", region="浙江省 杭州市 西湖区", excluded=True)
    return service


@pytest.fixture
def nationwide():
    return CarrierServiceFactory(carrier=CarrierFactory(code="sf", name="SF Express"), code="standard")


def order_to(warehouse, place_of, **overrides):
    product = ProductFactory(weight_kg=Decimal("0.500"))
    stock(product, warehouse, 10)
    n = next(_buyers)
    return place(
        lines=[(product, 1)],
        phone=f"1350000{n:04d}",
        address=f"学院路 {n} 号",
        payment_method="card",
        paid_amount=product.unit_price,
        **place_of,
        **overrides,
    )


def service_of(order, warehouse):
    (shipment,) = logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM).shipments.all()
    return shipment.service


def test_a_service_reaches_what_its_most_specific_area_says(zhejiang_only, nationwide):
    reach = selectors.coverage()

    assert reach.reaches(zhejiang_only, "330102")
    assert not reach.reaches(zhejiang_only, "330106")
    assert not reach.reaches(zhejiang_only, "320106")
    assert reach.reaches(nationwide, "320106")
    # An address whose region was not recognised is not refused by coverage: its region holds it.
    assert reach.reaches(zhejiang_only, None)


def test_the_rules_never_choose_a_service_that_cannot_reach_the_address(warehouse, zhejiang_only, nationwide):
    assert service_of(order_to(warehouse, HANGZHOU), warehouse) == zhejiang_only
    assert service_of(order_to(warehouse, WEST_LAKE), warehouse) == nationwide
    assert service_of(order_to(warehouse, NANJING), warehouse) == nationwide


def test_staff_cannot_choose_a_service_that_does_not_deliver_to_the_order(warehouse, zhejiang_only, nationwide):
    order = order_to(warehouse, NANJING)

    result = logistics.choose_carrier_service(
        [order.pk], service_id=zhejiang_only.pk, actor=staff("Logistics coordinator")
    )

    with translation.override("en"):
        assert str(result.left[order.number]).endswith("does not deliver to 江苏省 南京市 鼓楼区")
    assert service_of(order, warehouse) == nationwide


def test_a_parcels_service_cannot_be_changed_to_one_that_does_not_deliver_there(warehouse, zhejiang_only, nationwide):
    order = order_to(warehouse, NANJING)
    (shipment,) = logistics.create_pick_wave(warehouse.pk, [order.pk], actor=SYSTEM).shipments.all()

    with pytest.raises(ValidationError) as refused, translation.override("en"):
        logistics.choose_carrier(shipment.pk, zhejiang_only.pk, actor=staff("Logistics coordinator"))

    assert "does not deliver to 江苏省 南京市 鼓楼区" in refused.value.message_dict["service"][0]
    shipment.refresh_from_db()
    assert shipment.service == nationwide


def test_the_plan_says_where_a_parcel_no_service_reaches_had_to_go(warehouse, zhejiang_only, nationwide):
    nationwide.active = False
    nationwide.save()
    order = Order.objects.get(pk=order_to(warehouse, HANGZHOU).pk)
    ServiceCoverage.objects.filter(service=zhejiang_only, region_code="330000").update(excluded=True)
    product_waiting = {warehouse.pk: [(line.product, line.quantity) for line in order.lines.all()]}

    (plan,) = plan_parcels(order, product_waiting)

    assert plan.service is None
    with translation.override("en"):
        assert [str(need) for need in plan.needs] == ["delivers to 浙江省 杭州市 上城区"]


def test_an_order_no_active_service_reaches_is_held_with_the_reason(warehouse, zhejiang_only):
    held = order_to(warehouse, NANJING)
    confirmed = order_to(warehouse, HANGZHOU)

    assert held.status == Order.Status.ON_HOLD
    assert [reason["code"] for reason in held.hold_reasons] == ["unreachable"]
    with translation.override("en"):
        assert describe(held.hold_reasons[0]) == "No active carrier service delivers to 江苏省 南京市 鼓楼区."
    assert confirmed.status == Order.Status.CONFIRMED


def test_without_coverage_every_address_is_reached(warehouse, nationwide):
    order = order_to(warehouse, NANJING)

    assert order.status == Order.Status.CONFIRMED


def test_a_shop_with_no_active_service_holds_nothing_for_reach(warehouse, zhejiang_only):
    zhejiang_only.active = False
    zhejiang_only.save()

    order = order_to(warehouse, NANJING)

    assert order.status == Order.Status.CONFIRMED


def test_correcting_the_address_to_a_reached_one_clears_the_reason(warehouse, zhejiang_only):
    held = order_to(warehouse, NANJING)

    orders.update_delivery_address(held.pk, actor=staff("Order reviewer"), **HANGZHOU)

    held.refresh_from_db()
    assert "unreachable" not in [reason["code"] for reason in held.hold_reasons]


def test_correcting_to_another_unreached_address_keeps_the_reason(warehouse, zhejiang_only):
    held = order_to(warehouse, NANJING)

    orders.update_delivery_address(held.pk, actor=staff("Order reviewer"), **WEST_LAKE)

    held.refresh_from_db()
    assert [reason["code"] for reason in held.hold_reasons] == ["unreachable"]
    with translation.override("en"):
        assert "西湖区" in describe(held.hold_reasons[0])


# --- the sheet ------------------------------------------------------------------------------------


def sheet(rows):
    workbook = Workbook()
    workbook.active.append(["快递公司", "服务", "省", "市", "区", "不送达"])
    for row in rows:
        workbook.active.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def upload(rows, actor):
    job = imports.start(COVERAGE_IMPORT, file_name="coverage.xlsx", content=sheet(rows), actor=actor)
    checked = imports.check(COVERAGE_IMPORT, job.pk)
    if checked.errors:
        return checked
    imports.confirm(COVERAGE_IMPORT, checked.pk, actor=actor)
    return imports.run(COVERAGE_IMPORT, checked.pk)


def test_an_uploaded_sheet_replaces_the_coverage_of_the_services_it_names(zhejiang_only, nationwide):
    coordinator = staff("Logistics coordinator")

    done = upload(
        [["local", "standard", "江苏", "", "", ""], ["local", "standard", "江苏", "南京", "鼓楼", "是"]], coordinator
    )

    assert done.errors == []
    assert sorted(ServiceCoverage.objects.values_list("service__code", "region_code", "region", "excluded")) == [
        ("standard", "320000", "江苏省", False),
        ("standard", "320106", "江苏省 南京市 鼓楼区", True),
    ]
    reach = selectors.coverage()
    assert not reach.reaches(zhejiang_only, "330102") and reach.reaches(zhejiang_only, "320102")


def test_a_sheet_with_a_wrong_region_or_service_writes_nothing_and_names_the_cells(zhejiang_only):
    coordinator = staff("Logistics coordinator")

    checked = upload(
        [
            ["local", "standard", "江苏", "杭州", "", ""],
            ["local", "overnight", "江苏", "", "", ""],
            ["local", "standard", "浙西", "", "", ""],
        ],
        coordinator,
    )

    errors = {(error["row"], error["column"]): error["message"] for error in checked.errors}
    assert errors[2, "city"] == "The city “杭州” is not in 江苏省."
    assert "overnight" in errors[3, "service"]
    assert errors[4, "province"] == "There is no province “浙西”."
    assert ServiceCoverage.objects.count() == 2


def test_only_roles_that_change_carrier_services_upload_coverage():
    with pytest.raises(PermissionDenied) as refused:
        upload([["local", "standard", "江苏", "", "", ""]], staff("Warehouse operator"))
    assert "carrier services" in str(refused.value)
