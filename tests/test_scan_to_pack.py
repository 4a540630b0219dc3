"""The scan-to-pack page, driven through the Django test client as a warehouse operator with a
barcode scanner uses it: each scan is a form post of what the scanner typed."""

import html
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from core.actors import SYSTEM
from inventory.models import Warehouse
from logistics import services as logistics
from logistics.models import PackingScanRefusal, Shipment, ShipmentLine
from orders import services as orders
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, WarehouseFactory, pick_all, place_apart, staff, stock

pytestmark = pytest.mark.django_db

SCAN_PAGE = reverse("admin:logistics_shipment_pack")


def parcel_page(shipment):
    return reverse("admin:logistics_shipment_pack_parcel", args=[shipment.pk])


def new_order(*lines, **overrides):
    return place_apart(lines=list(lines), **overrides)


def signed_in(client, role="Warehouse operator"):
    user = staff(role)
    client.force_login(user)
    return user


def scan(client, shipment, code):
    return client.post(parcel_page(shipment), {"step": "item", "code": code})


def finish(client, shipment, weight_kg="1.2", package_count="1"):
    return client.post(
        parcel_page(shipment), {"step": "finish", "weight_kg": weight_kg, "package_count": package_count}
    )


def packed(shipment):
    return dict(ShipmentLine.objects.filter(shipment=shipment).values_list("order_line__sku", "packed_quantity"))


def banner(response):
    """The text of the page's red refusal banner, or None when there is none."""
    content = response.content.decode()
    start = content.find('class="oc-scan-error"')
    if start == -1:
        return None
    text = re.sub(r"<[^>]+>", " ", content[content.index(">", start) + 1 : content.index("</div>", start)])
    return " ".join(html.unescape(text).split())


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ", name="Hangzhou East")


@pytest.fixture
def teapot(warehouse):
    product = ProductFactory(name="Ceramic teapot", barcode="6901234500017", weight_kg=Decimal("0.800"), fragile=True)
    stock(product, warehouse, 20, bin_location="B-07")
    return product


@pytest.fixture
def cups(warehouse):
    product = ProductFactory(name="Tea cups", barcode="6901234500024", weight_kg=Decimal("0.150"))
    stock(product, warehouse, 20, bin_location="B-08")
    return product


@pytest.fixture
def parcel(teapot, cups):
    """A picked order waiting to be packed: one teapot and two cups."""
    order = new_order((teapot, 1), (cups, 2))
    pick_all(order)
    return order.shipments.get()


# Step one: the order number ------------------------------------------------------------------------


def test_scanning_the_order_number_opens_its_parcel(client, parcel):
    signed_in(client)

    response = client.post(SCAN_PAGE, {"order": f"  {parcel.order.number.lower()} "})

    assert response.status_code == 302
    assert response.url == parcel_page(parcel)
    page = client.get(response.url).content.decode()
    assert f"Packing order {parcel.order.number}" in page
    assert 'name="code"' in page and "autofocus" in page


def test_the_scan_page_waits_for_the_order_number_in_one_focused_input(client, parcel):
    signed_in(client)

    page = client.get(SCAN_PAGE).content.decode()

    assert page.count("autofocus") == 1
    assert 'name="order"' in page
    assert "js/scan_pack.js" in page


def test_an_unknown_order_number_is_refused_with_a_red_banner(client, parcel):
    signed_in(client)

    response = client.post(SCAN_PAGE, {"order": "OC000000-999999"})

    assert response.status_code == 200
    assert "No order has the number OC000000-999999" in banner(response)
    assert 'role="alert"' in response.content.decode()


def test_an_order_not_on_a_pick_list_is_sent_back_to_picking(client, teapot):
    signed_in(client)
    order = new_order((teapot, 1))

    response = client.post(SCAN_PAGE, {"order": order.number})

    assert f"Order {order.number} is not on a pick list for HZ · Hangzhou East yet" in banner(response)


def test_an_order_already_packed_is_refused(client, parcel):
    signed_in(client)
    for line in parcel.lines.select_related("order_line"):
        for _unit in range(line.quantity):
            logistics.pack_item(parcel.pk, line.order_line.sku, actor=SYSTEM)
    logistics.finish_packing(parcel.pk, weight_kg="2", package_count=1, actor=SYSTEM)

    response = client.post(SCAN_PAGE, {"order": parcel.order.number})

    assert "is already packed in HZ · Hangzhou East" in banner(response)


def test_a_cancelled_order_is_refused(client, parcel):
    signed_in(client)
    orders.cancel(parcel.order.pk, actor=SYSTEM, reason="customer changed their mind")

    response = client.post(SCAN_PAGE, {"order": parcel.order.number})

    assert f"Order {parcel.order.number} is cancelled" in banner(response)


def test_an_order_held_for_review_is_refused(client, teapot):
    signed_in(client)
    held = new_order((teapot, 1), payment_method="card", paid_amount="1.00")
    assert held.status == Order.Status.ON_HOLD

    response = client.post(SCAN_PAGE, {"order": held.number})

    assert f"Order {held.number} is Held for review" in banner(response)


def test_an_empty_scan_asks_for_the_order_number(client, parcel):
    signed_in(client)

    response = client.post(SCAN_PAGE, {"order": "  "})

    assert "Scan the order number on the packing slip." in banner(response)


# The packer's warehouse ----------------------------------------------------------------------------


@pytest.fixture
def split_order(warehouse):
    """Two kettles, one in each warehouse, so neither can fill the order alone; both picked."""
    far = WarehouseFactory(code="SH", name="Shanghai")
    Warehouse.objects.filter(pk=warehouse.pk).update(priority=1)
    Warehouse.objects.filter(pk=far.pk).update(priority=2)
    product = ProductFactory(name="Kettle", barcode="6901234500031")
    stock(product, warehouse, 1)
    stock(product, far, 1)
    order = new_order((product, 2))
    pick_all(order)
    near_parcel = order.shipments.get(warehouse=warehouse)
    far_parcel = order.shipments.get(warehouse=far)
    return order, near_parcel, far_parcel


def test_the_warehouse_chosen_once_is_remembered_and_picks_the_parcel(client, split_order):
    signed_in(client)
    order, near_parcel, far_parcel = split_order

    assert client.get(SCAN_PAGE, {"warehouse": far_parcel.warehouse_id}).status_code == 302
    response = client.post(SCAN_PAGE, {"order": order.number})

    assert response.url == parcel_page(far_parcel)
    assert "selected>SH · Shanghai</option>" in client.get(SCAN_PAGE).content.decode()


def test_an_order_whose_parcel_waits_in_another_warehouse_says_where(client, teapot, warehouse):
    signed_in(client)
    elsewhere = WarehouseFactory(code="SH", name="Shanghai")
    order = new_order((teapot, 1))
    pick_all(order)

    client.get(SCAN_PAGE, {"warehouse": elsewhere.pk})
    response = client.post(SCAN_PAGE, {"order": order.number})

    assert (
        f"Order {order.number} waits to be packed in HZ · Hangzhou East, not in SH · Shanghai: pack it there, "
        "or switch warehouse."
    ) in banner(response)


def test_without_a_chosen_warehouse_an_order_with_two_parcels_asks_which(client, split_order):
    signed_in(client)
    order, _near, _far = split_order

    response = client.post(SCAN_PAGE, {"order": order.number})

    assert "HZ · Hangzhou East, SH · Shanghai: choose the warehouse you pack in." in banner(response)


def test_choosing_an_unknown_warehouse_falls_back_to_any(client, split_order):
    signed_in(client)
    order, near_parcel, _far = split_order
    client.get(SCAN_PAGE, {"warehouse": near_parcel.warehouse_id})

    client.get(SCAN_PAGE, {"warehouse": "99999"})

    assert "choose the warehouse" in banner(client.post(SCAN_PAGE, {"order": order.number}))


# Step two: the items -------------------------------------------------------------------------------


def test_scanning_items_by_barcode_or_sku_counts_them_in_and_shows_what_is_missing(client, parcel, teapot, cups):
    signed_in(client)

    first = scan(client, parcel, cups.barcode)
    second = scan(client, parcel, teapot.sku.lower())

    assert first.status_code == second.status_code == 302
    assert packed(parcel) == {teapot.sku: 1, cups.sku: 1}
    page = client.get(first.url).content.decode()
    assert f"{cups.sku} packed: 1 of 2." in page
    assert f'<span class="oc-mono">1 × {cups.sku}</span>' in page
    assert f"1 × {teapot.sku}" not in page
    assert "2 of 3 units" in page
    # The finish form waits, hidden, until the last unit is in (the page's script shows it then).
    assert "novalidate hidden data-scan-finish" in page


def test_an_item_not_in_the_order_is_refused_and_nothing_changes(client, parcel, teapot, warehouse):
    signed_in(client)
    stranger = ProductFactory(barcode="6909999900011")
    scan(client, parcel, teapot.barcode)

    response = scan(client, parcel, stranger.barcode)

    assert response.status_code == 200
    assert f"6909999900011 is not in order {parcel.order.number}. Put it aside." in banner(response)
    assert packed(parcel) == {teapot.sku: 1, parcel.lines.exclude(order_line__sku=teapot.sku).get().order_line.sku: 0}
    assert 'aria-invalid="true"' in response.content.decode()
    assert 'name="code"' in response.content.decode()


def test_a_surplus_item_is_refused_once_its_line_is_complete(client, parcel, teapot, cups):
    signed_in(client)
    scan(client, parcel, teapot.barcode)

    response = scan(client, parcel, teapot.barcode)

    assert f"All 1 × {teapot.sku} are already packed. Put this one aside." in banner(response)
    assert packed(parcel) == {teapot.sku: 1, cups.sku: 0}


def test_an_empty_item_scan_is_refused(client, parcel, teapot, cups):
    signed_in(client)

    response = scan(client, parcel, "   ")

    assert "Scan an item's barcode or type its SKU." in banner(response)
    assert packed(parcel) == {teapot.sku: 0, cups.sku: 0}


# Closing the parcel ----------------------------------------------------------------------------------


def scan_everything(client, parcel):
    for line in parcel.lines.select_related("order_line__product"):
        for _unit in range(line.quantity):
            assert scan(client, parcel, line.order_line.product.barcode).status_code == 302


def test_once_every_line_is_complete_the_page_asks_for_weight_prefilled_from_the_products(client, parcel):
    signed_in(client)

    scan_everything(client, parcel)
    page = client.get(parcel_page(parcel)).content.decode()

    # 0.800 kg teapot + 2 × 0.150 kg cups
    assert 'name="weight_kg" value="1.100"' in page
    assert 'name="package_count" value="1"' in page
    assert "novalidate data-scan-finish" in page
    # The scanner's input keeps the focus: a scan after the last unit is answered, never typed
    # into the weight.
    assert page.count("autofocus") == 1 and 'id="oc-scan-code"' in page


def test_closing_a_parcel_with_missing_items_is_refused(client, parcel, teapot, cups):
    signed_in(client)
    scan(client, parcel, teapot.barcode)

    response = finish(client, parcel)

    assert f"Still missing: 2 × {cups.sku}." in banner(response)
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.PENDING
    assert parcel.order.status == Order.Status.PICKING


@pytest.mark.parametrize(
    ("weight", "packages", "field", "message"),
    [
        ("", "1", "weight_kg", "Weight (kg): Enter a number."),
        ("heavy", "1", "weight_kg", "Weight (kg): Enter a number."),
        ("0", "1", "weight_kg", "Weight (kg): Enter a number greater than 0 and at most 9999."),
        ("-2", "1", "weight_kg", "Weight (kg): Enter a number greater than 0 and at most 9999."),
        ("1.2", "0", "package_count", "Packages: Enter between 1 and 99 packages."),
        ("1.2", "100", "package_count", "Packages: Enter between 1 and 99 packages."),
        ("1.2", "two", "package_count", "Packages: Enter a whole number of packages."),
    ],
)
def test_weight_and_package_count_are_checked_and_named(client, parcel, weight, packages, field, message):
    signed_in(client)
    scan_everything(client, parcel)

    response = finish(client, parcel, weight_kg=weight, package_count=packages)

    assert message in banner(response)
    content = response.content.decode()
    assert f'aria-describedby="oc-scan-{"weight" if field == "weight_kg" else "packages"}-error"' in content
    # What the packer typed stays in the form.
    assert f'name="{field}" value="{weight if field == "weight_kg" else packages}"' in content
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.PENDING
    assert parcel.weight_kg is None


def test_closing_the_parcel_packs_it_and_offers_its_slip_and_label_for_the_next_scan(client, parcel):
    operator = signed_in(client)
    scan_everything(client, parcel)

    response = finish(client, parcel, weight_kg="1.35", package_count="2")

    assert response.status_code == 302
    assert response.url == f"{SCAN_PAGE}?packed={parcel.pk}"
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.PACKED
    assert (parcel.weight_kg, parcel.package_count, parcel.packed_by) == (Decimal("1.350"), 2, operator)
    order = Order.objects.get(pk=parcel.order_id)
    assert order.status == Order.Status.PACKED
    assert OrderEvent.objects.filter(order=order, transition="mark_packed", actor=operator).count() == 1
    page = client.get(response.url).content.decode()
    assert f"Order {order.number}: parcel packed." in page
    assert "1.350 kg in 2 packages." in page
    assert reverse("admin:logistics_shipment_packing_slip", args=[parcel.pk]) in page
    assert reverse("admin:logistics_shipment_label", args=[parcel.pk]) in page
    assert 'name="order"' in page and page.count("autofocus") == 1


def test_a_packed_parcel_takes_no_more_scans(client, parcel, teapot):
    signed_in(client)
    scan_everything(client, parcel)
    finish(client, parcel)

    page = client.get(parcel_page(parcel)).content.decode()
    response = scan(client, parcel, teapot.barcode)

    assert "This parcel is Packed: there is nothing left to pack." in page
    assert 'name="code"' not in page
    assert "there is nothing left to pack" in banner(response)


def test_the_order_is_packed_only_when_every_warehouses_parcel_is_packed(client, split_order):
    signed_in(client)
    order, near_parcel, far_parcel = split_order

    scan_everything(client, near_parcel)
    finish(client, near_parcel)
    after_first = Order.objects.get(pk=order.pk).status
    scan_everything(client, far_parcel)
    finish(client, far_parcel)

    assert after_first == Order.Status.PICKING
    assert Order.objects.get(pk=order.pk).status == Order.Status.PACKED
    assert set(order.shipments.values_list("status", flat=True)) == {Shipment.Status.PACKED}


# Who may pack ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Customer service", "Logistics coordinator", "Finance"])
def test_roles_that_do_not_pack_may_not_open_or_use_the_scan_page(client, parcel, teapot, role):
    signed_in(client, role)

    assert client.get(SCAN_PAGE).status_code == 403
    assert client.post(SCAN_PAGE, {"order": parcel.order.number}).status_code == 403
    assert scan(client, parcel, teapot.barcode).status_code == 403
    assert finish(client, parcel).status_code == 403
    assert packed(parcel)[teapot.sku] == 0


def test_the_order_page_and_the_shipment_page_link_a_waiting_parcel_to_the_scan_page(client, parcel):
    signed_in(client)

    order_page = client.get(reverse("admin:orders_order_change", args=[parcel.order_id])).content.decode()
    shipment_page = client.get(reverse("admin:logistics_shipment_change", args=[parcel.pk])).content.decode()

    assert f'href="{parcel_page(parcel)}">Pack</a>' in order_page
    assert parcel_page(parcel) in shipment_page
    assert reverse("admin:logistics_shipment_packing_slip", args=[parcel.pk]) in order_page


def test_the_order_page_offers_no_pack_link_to_roles_that_do_not_pack(client, parcel):
    signed_in(client, "Customer service")

    order_page = client.get(reverse("admin:orders_order_change", args=[parcel.order_id])).content.decode()

    assert parcel_page(parcel) not in order_page


def test_the_pick_list_and_the_shipment_list_lead_to_the_scan_page(client, parcel):
    signed_in(client)
    from_pick_list = f"{SCAN_PAGE}?warehouse={parcel.warehouse_id}"

    pick_list = client.get(reverse("admin:logistics_pickwave_print", args=[parcel.wave_id])).content.decode()
    shipment_list = client.get(reverse("admin:logistics_shipment_changelist")).content.decode()
    client.get(from_pick_list)

    assert f'href="{from_pick_list}"' in pick_list
    assert f'href="{SCAN_PAGE}"' in shipment_list
    assert client.session["logistics.packing_warehouse"] == str(parcel.warehouse_id)


# The page's script: scans answered as JSON --------------------------------------------------------


def scan_answer_url(shipment):
    return reverse("admin:logistics_shipment_pack_scan", args=[shipment.pk])


def test_a_scan_sent_by_the_page_is_answered_with_the_parcels_new_state(client, parcel, teapot, cups):
    signed_in(client)

    answer = client.post(scan_answer_url(parcel), {"code": cups.barcode}).json()

    lines = {line.order_line.sku: line.pk for line in parcel.lines.select_related("order_line")}
    assert answer == {
        "accepted": True,
        "sound": "accepted",
        "message": f"{cups.sku} packed: 1 of 2.",
        "complete": False,
        "packing": True,
        "scanned_line": lines[cups.sku],
        "lines": sorted(
            [
                {"id": lines[teapot.sku], "sku": teapot.sku, "packed": 0, "quantity": 1},
                {"id": lines[cups.sku], "sku": cups.sku, "packed": 1, "quantity": 2},
            ],
            key=lambda line: line["id"],
        ),
        "progress": "1 of 3 units",
    }


def test_the_last_unit_and_a_scan_after_it_are_answered_complete_then_refused(client, parcel, teapot, cups):
    signed_in(client)
    client.post(scan_answer_url(parcel), {"code": teapot.barcode})

    last = client.post(scan_answer_url(parcel), {"code": f"2*{cups.barcode}"}).json()
    after = client.post(scan_answer_url(parcel), {"code": "1.2"})

    assert (last["accepted"], last["complete"], last["sound"]) == (True, True, "complete")
    assert after.status_code == 200
    assert (after.json()["accepted"], after.json()["sound"], after.json()["complete"]) == (False, "refused", True)
    assert (
        after.json()["message"]
        == f"Order {parcel.order.number} is already complete: 1.2 is one too many. Put it aside."
    )
    assert packed(parcel) == {teapot.sku: 1, cups.sku: 2}
    assert Shipment.objects.get(pk=parcel.pk).weight_kg is None


def test_a_refused_scan_is_answered_in_the_packers_language(client, parcel):
    signed_in(client)

    answer = client.post(scan_answer_url(parcel), {"code": "6909999900011"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert answer["accepted"] is False and answer["sound"] == "refused"
    assert answer["message"] == f"6909999900011 不属于订单 {parcel.order.number}，请放到一边。"


def test_nothing_typed_is_a_bad_request_and_no_refusal(client, parcel):
    signed_in(client)

    response = client.post(scan_answer_url(parcel), {"code": " "})

    assert response.status_code == 400
    assert response.json() == {
        "accepted": False,
        "sound": "refused",
        "message": "Scan an item's barcode or type its SKU.",
    }
    assert not PackingScanRefusal.objects.exists()


def test_the_scan_answer_needs_the_csrf_token_a_post_and_the_pack_permission(parcel, teapot):
    operator = staff("Warehouse operator")
    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(operator)
    assert guarded.post(scan_answer_url(parcel), {"code": teapot.barcode}).status_code == 403
    assert guarded.get(scan_answer_url(parcel)).status_code == 405

    guarded.get(parcel_page(parcel))
    token = guarded.cookies["csrftoken"].value
    answer = guarded.post(scan_answer_url(parcel), {"code": teapot.barcode}, HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200 and answer.json()["accepted"] is True

    finance = Client()
    finance.force_login(staff("Finance"))
    assert finance.post(scan_answer_url(parcel), {"code": teapot.barcode}).status_code == 403
    assert finance.post(reverse("admin:logistics_shipment_pack_scan", args=[987654]), {"code": "X"}).status_code == 403
    assert packed(parcel)[teapot.sku] == 1


def test_an_unknown_parcel_is_not_found(client):
    signed_in(client)

    assert client.post(reverse("admin:logistics_shipment_pack_scan", args=[987654]), {"code": "X"}).status_code == 404
