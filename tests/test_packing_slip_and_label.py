"""Packing slips and shipping labels: what they print, for whom the phone number is masked, and that
their Code 128 barcodes read back as the order and tracking numbers."""

import re
from decimal import Decimal
from xml.dom import minidom

import pytest
from barcode.charsets import code128
from django.contrib.auth.models import User
from django.urls import reverse

from core.actors import SYSTEM
from logistics import services as logistics
from logistics.barcodes import MODULE_WIDTH_MM, QUIET_ZONE_MM, code128_modules, code128_svg
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    pack_all,
    pick_all,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.DOTALL)


# Reading a barcode back ----------------------------------------------------------------------------


def modules_drawn(svg):
    """The bars an SVG from code128_svg draws, one "1" or "0" per module, as a scanner sees them."""
    root = minidom.parseString(svg).documentElement
    width = float(root.getAttribute("viewBox").split()[2])
    modules = ["0"] * round((width - 2 * QUIET_ZONE_MM) / MODULE_WIDTH_MM)
    for rect in root.getElementsByTagName("rect"):
        if rect.getAttribute("fill") != "black":
            continue
        start = round((float(rect.getAttribute("x")) - QUIET_ZONE_MM) / MODULE_WIDTH_MM)
        for offset in range(round(float(rect.getAttribute("width")) / MODULE_WIDTH_MM)):
            modules[start + offset] = "1"
    return "".join(modules)


def decode_code128(modules):
    """Decode Code 128 modules with the symbology's own pattern table: symbols of 11 modules, a
    start code choosing code set A, B or C, a weighted checksum, and the 13-module stop."""
    symbols = {pattern: value for value, pattern in enumerate(code128.CODES)}
    stop = code128.STOP + "11"
    assert modules.endswith(stop), "no stop pattern"
    body = modules[: -len(stop)]
    assert len(body) % 11 == 0
    values = [symbols[body[i : i + 11]] for i in range(0, len(body), 11)]
    *data, checksum = values
    assert checksum == (data[0] + sum(position * value for position, value in enumerate(data[1:], 1))) % 103
    code_set = {103: "A", 104: "B", 105: "C"}[data[0]]
    text = ""
    for value in data[1:]:
        switch = {99: "C", 100: "B", 101: "A"}.get(value)
        if switch and not (code_set == "A" and value == 101) and not (code_set == "B" and value == 100):
            code_set = switch
        elif code_set == "C":
            text += f"{value:02d}"
        elif code_set == "B" or value < 64:
            text += chr(value + 32)
        else:
            text += chr(value - 64)
    return text


def barcodes_on(content):
    """{aria-label: decoded text} for every barcode on a page."""
    found = {}
    for svg in SVG.findall(content):
        label = minidom.parseString(svg).documentElement.getAttribute("aria-label")
        found[label] = decode_code128(modules_drawn(svg))
    return found


@pytest.mark.parametrize("text", ["OC260105-000042", "SF5550000000033", "1234567", "YT-7788abc"])
def test_the_svg_draws_exactly_the_modules_python_barcode_builds_and_they_decode_to_the_text(text):
    svg = code128_svg(text)

    assert modules_drawn(svg) == code128_modules(text)
    assert decode_code128(modules_drawn(svg)) == text


def test_the_svg_is_inline_markup_that_scales_and_names_its_value():
    svg = code128_svg("OC260105-000042")

    root = minidom.parseString(svg).documentElement
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!--" not in svg
    assert root.getAttribute("role") == "img" and root.getAttribute("aria-label") == "OC260105-000042"
    assert root.getAttribute("viewBox").startswith("0 0 ")
    assert root.getAttribute("width").endswith("mm")
    assert not root.getElementsByTagName("text")
    assert 'id="' not in svg


def test_the_svg_colours_its_bars_without_style_attributes_which_the_content_security_policy_refuses():
    svg = code128_svg("OC260105-000042")

    assert "style=" not in svg
    assert {rect.getAttribute("fill") for rect in minidom.parseString(svg).getElementsByTagName("rect")} == {
        "white",
        "black",
    }


def test_text_code_128_cannot_carry_gets_no_barcode():
    assert code128_svg("顺丰12345") == ""
    assert code128_svg("") == ""


# The printed pages ---------------------------------------------------------------------------------


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ", name="Hangzhou East", address="余杭区仓前街道 1 号")


@pytest.fixture
def teapot(warehouse):
    product = ProductFactory(name="Ceramic teapot", fragile=True)
    stock(product, warehouse, 10)
    return product


@pytest.fixture
def parcel(teapot):
    CarrierServiceFactory(name="Standard", supports_cod=True, supports_fragile=True)
    order = place(
        lines=[(teapot, 2)],
        phone="13800138000",
        recipient="王小明",
        city="杭州市",
        address="文三路 90 号",
        special_instructions="Leave at the front desk",
    )
    pick_all(order)
    return order.shipments.get()


def packed_with_tracking(parcel, *, package_count=1, tracking_number="SF5550000000033"):
    pack_all(parcel.order, weight_kg="2.4", package_count=package_count)
    logistics.assign_tracking_number(parcel.pk, CarrierFactory().pk, tracking_number, actor=SYSTEM)
    parcel.refresh_from_db()
    return parcel


def slip(client, shipment, **headers):
    return client.get(reverse("admin:logistics_shipment_packing_slip", args=[shipment.pk]), **headers)


def label(client, shipment):
    return client.get(reverse("admin:logistics_shipment_label", args=[shipment.pk]))


def test_packing_slip_shows_shop_order_recipient_city_and_this_parcels_lines(client, parcel, teapot, settings):
    settings.SHOP_NAME = "Teahouse"
    client.force_login(staff("Warehouse operator"))

    content = slip(client, parcel).content.decode()

    assert "<h1>Teahouse</h1>" in content
    assert parcel.order.number in content
    assert "王小明" in content and "杭州市" in content and "文三路 90 号" in content
    assert teapot.sku in content and "Ceramic teapot" in content
    assert "Leave at the front desk" in content
    assert "From HZ · Hangzhou East" in content
    assert barcodes_on(content) == {parcel.order.number: parcel.order.number}


def test_packing_slip_masks_the_phone_for_staff_who_may_not_see_it(client, parcel):
    client.force_login(staff("Warehouse operator"))

    content = slip(client, parcel).content.decode()

    assert "+86 138****8000" in content
    assert "13800138000" not in content and "138 0013 8000" not in content


def test_packing_slip_shows_the_whole_phone_to_staff_who_may_see_it(client, parcel):
    client.force_login(staff("Logistics coordinator"))

    assert "+86 138 0013 8000" in slip(client, parcel).content.decode()


def test_each_parcel_of_a_split_order_has_its_own_slip_with_only_its_lines(client, warehouse):
    client.force_login(staff("Warehouse operator"))
    far = WarehouseFactory(code="SH", name="Shanghai")
    near_only, far_only = ProductFactory(), ProductFactory()
    stock(near_only, warehouse, 5)
    stock(far_only, far, 5)
    order = place(lines=[(near_only, 1), (far_only, 3)])
    pick_all(order)
    near_parcel, far_parcel = order.shipments.get(warehouse=warehouse), order.shipments.get(warehouse=far)

    near = slip(client, near_parcel).content.decode()
    distant = slip(client, far_parcel).content.decode()

    assert near_only.sku in near and far_only.sku not in near
    assert far_only.sku in distant and near_only.sku not in distant
    assert "parcel 1 of 2" in near and "parcel 2 of 2" in distant


def test_packing_slip_prints_in_chinese(client, parcel):
    client.force_login(staff("Manager"))

    content = slip(client, parcel, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "<title>装箱单 " in content
    assert "收货信息" in content
    assert "打包人" in content
    assert ">打印</button>" in content


def test_label_carries_order_and_tracking_numbers_as_code_128_and_the_parcel_facts(client, parcel):
    packed_with_tracking(parcel)
    client.force_login(staff("Logistics coordinator"))

    content = label(client, parcel).content.decode()

    assert barcodes_on(content) == {parcel.order.number: parcel.order.number, "SF5550000000033": "SF5550000000033"}
    assert "王小明" in content
    assert "+86 138 0013 8000" in content
    assert "浙江省 杭州市 西湖区" in content and "文三路 90 号 · 310012" in content
    assert '<div class="label-carrier">SF Express</div>' in content
    assert '<div class="label-service">Standard</div>' in content
    assert "<b>2.400 kg</b>" in content
    assert "FRAGILE" in content
    assert "@page { size: 100mm 150mm; margin: 0; }" in content


def test_label_masks_the_phone_for_staff_who_may_not_see_it(client, parcel):
    packed_with_tracking(parcel)
    client.force_login(staff("Warehouse operator"))

    content = label(client, parcel).content.decode()

    assert "+86 138****8000" in content
    assert "13800138000" not in content and "138 0013 8000" not in content


def test_label_prints_one_sheet_per_package_numbered_of_the_total(client, parcel):
    packed_with_tracking(parcel, package_count=3)
    client.force_login(staff("Warehouse operator"))

    content = label(client, parcel).content.decode()

    assert re.findall(r'<div class="label-count">(\d+/\d+)</div>', content) == ["1/3", "2/3", "3/3"]
    assert content.count('aria-label="SF5550000000033"') == 3


def test_label_of_a_parcel_without_tracking_number_says_so_and_still_carries_the_order_barcode(client, parcel):
    pack_all(parcel.order)
    client.force_login(staff("Warehouse operator"))

    content = label(client, parcel).content.decode()

    assert "No tracking number yet" in content
    assert barcodes_on(content) == {parcel.order.number: parcel.order.number}


def test_label_of_a_parcel_not_packed_yet_asks_to_pack_it_first(client, parcel):
    client.force_login(staff("Warehouse operator"))

    content = label(client, parcel).content.decode()

    assert "is not packed yet" in content
    assert 'class="sheet label"' not in content
    assert reverse("admin:logistics_shipment_pack_parcel", args=[parcel.pk]) in content


def test_staff_without_shipment_access_may_not_print_slips_or_labels(client, parcel):
    client.force_login(User.objects.create_user(username="nobody", password="pw", is_staff=True))

    assert slip(client, parcel).status_code == 403
    assert label(client, parcel).status_code == 403


def test_a_packed_parcel_links_its_slip_and_label_from_the_order_page(client, parcel):
    pack_all(parcel.order, weight_kg=Decimal("1.5"))
    client.force_login(staff("Warehouse operator"))

    content = client.get(reverse("admin:orders_order_change", args=[parcel.order_id])).content.decode()

    assert reverse("admin:logistics_shipment_packing_slip", args=[parcel.pk]) in content
    assert reverse("admin:logistics_shipment_label", args=[parcel.pk]) in content
    assert reverse("admin:logistics_shipment_pack_parcel", args=[parcel.pk]) not in content
