"""The stock, shipping and order-setup pages of the console, driven through the Django test client
as the staff roles of docs/architecture.md ("Who uses it") use them."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from core.actors import SYSTEM
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from logistics.models import Carrier, Shipment
from orders import services as orders
from orders.models import BlockedContact, IntakeSettings, Order
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    advance,
    place,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

STOCK_LIST = "admin:inventory_stocklevel_changelist"


def signed_in(client, role=None):
    user = staff(role)
    client.force_login(user)
    return user


def with_reorder_point(level, reorder_point):
    StockLevel.objects.filter(pk=level.pk).update(reorder_point=reorder_point)
    level.refresh_from_db()
    return level


def booking_url(name, level):
    return reverse(f"admin:inventory_stocklevel_{name}", args=[level.pk])


def ledger_of(level):
    return list(StockMovement.objects.filter(stock_level=level).order_by("pk"))


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def level(warehouse):
    return stock(ProductFactory(), warehouse, 10, bin_location="A-01")


# Stock list -----------------------------------------------------------------------------------


def test_stock_list_shows_available_and_sorts_by_it(client, warehouse):
    signed_in(client, "Manager")
    roomy = stock(ProductFactory(), warehouse, 10)
    busy = stock(ProductFactory(), warehouse, 10)
    place(lines=[(busy.product, 7)])

    response = client.get(reverse(STOCK_LIST), {"o": "6"})

    rows = list(response.context["cl"].result_list)
    assert [(row.pk, row.available_qty) for row in rows] == [(busy.pk, 3), (roomy.pk, 10)]
    assert b'<td class="field-available_quantity">3</td>' in response.content


def test_low_stock_filter_lists_levels_at_or_below_their_reorder_point(client, warehouse):
    signed_in(client, "Warehouse operator")
    below = with_reorder_point(stock(ProductFactory(), warehouse, 10), 3)
    place(lines=[(below.product, 8)])
    at = with_reorder_point(stock(ProductFactory(), warehouse, 3), 3)
    above = with_reorder_point(stock(ProductFactory(), warehouse, 4), 3)

    everything = client.get(reverse(STOCK_LIST))
    low = client.get(reverse(STOCK_LIST), {"low_stock": "yes"})

    assert {row.pk for row in everything.context["cl"].result_list} == {below.pk, at.pk, above.pk}
    assert {row.pk for row in low.context["cl"].result_list} == {below.pk, at.pk}


def test_stock_list_finds_a_level_by_barcode(client, level, warehouse):
    signed_in(client, "Warehouse operator")
    stock(ProductFactory(), warehouse, 5)

    response = client.get(reverse(STOCK_LIST), {"q": level.product.barcode})

    assert [row.pk for row in response.context["cl"].result_list] == [level.pk]


def test_stock_level_form_changes_storage_settings_but_never_quantities(client, level):
    signed_in(client, "Manager")
    url = reverse("admin:inventory_stocklevel_change", args=[level.pk])

    response = client.post(url, {"bin_location": "B-07", "reorder_point": "4", "on_hand": "999", "reserved": "5"})

    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.bin_location, level.reorder_point, level.on_hand, level.reserved) == ("B-07", 4, 10, 0)
    assert not ledger_mismatches().exists()


def test_stock_level_page_shows_ledger_and_only_the_bookings_the_role_may_make(client, level):
    signed_in(client, "Warehouse operator")

    response = client.get(reverse("admin:inventory_stocklevel_change", args=[level.pk]))

    content = response.content.decode()
    assert 'id="stock-ledger"' in content
    assert "test stock" in content
    assert booking_url("receive", level) in content
    assert booking_url("count", level) in content
    assert booking_url("adjust", level) not in content


def test_low_stock_alert_counts_low_levels_and_links_to_the_filtered_list(warehouse, django_user_model):
    with_reorder_point(stock(ProductFactory(), warehouse, 2), 5)
    with_reorder_point(stock(ProductFactory(), warehouse, 9), 5)
    template = Template("{% load stock_alerts %}{% low_stock_alert %}")

    html = template.render(Context({"user": staff("Warehouse operator")}))
    no_stock_role = django_user_model.objects.create_user("newcomer", is_staff=True)
    hidden = template.render(Context({"user": no_stock_role}))

    assert "1 stock level is at or below its reorder point" in html
    assert reverse(STOCK_LIST) + "?low_stock=yes" in html
    assert hidden.strip() == ""


# Bookings: adjust, receive, count --------------------------------------------------------------


def test_adjust_without_a_reason_is_refused_naming_the_field_and_changes_nothing(client, level):
    signed_in(client, "Manager")

    response = client.post(booking_url("adjust", level), {"change": "-2", "reason": "  "})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["reason"]
    content = response.content.decode()
    assert 'class="form-row errors field-reason"' in content
    assert "Give a reason for the adjustment" in content
    level.refresh_from_db()
    assert level.on_hand == 10
    assert len(ledger_of(level)) == 1


def test_adjust_with_a_reason_writes_a_ledger_line_and_the_ledger_still_sums(client, level):
    manager = signed_in(client, "Manager")

    response = client.post(booking_url("adjust", level), {"change": "-2", "reason": "Broken in transport"})

    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 8
    line = ledger_of(level)[-1]
    assert (line.kind, line.on_hand_change, line.reason, line.actor) == (
        StockMovement.Kind.ADJUSTMENT,
        -2,
        "Broken in transport",
        manager,
    )
    assert not ledger_mismatches().exists()


def test_adjust_below_reserved_stock_shows_the_service_refusal_on_the_change_field(client, level):
    signed_in(client, "Manager")
    place(lines=[(level.product, 6)])

    response = client.post(booking_url("adjust", level), {"change": "-5", "reason": "Lost"})

    assert response.status_code == 200
    assert "6 units reserved" in " ".join(response.context["form"].errors["change"])
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (10, 6)


def test_warehouse_operator_cannot_adjust_stock(client, level):
    signed_in(client, "Warehouse operator")

    page = client.get(booking_url("adjust", level))
    post = client.post(booking_url("adjust", level), {"change": "5", "reason": "Found"})

    assert (page.status_code, post.status_code) == (403, 403)
    level.refresh_from_db()
    assert level.on_hand == 10


def test_warehouse_operator_receives_goods_into_the_ledger(client, level):
    operator = signed_in(client, "Warehouse operator")

    response = client.post(booking_url("receive", level), {"quantity": "5", "reference": "PO-17"})

    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 15
    line = ledger_of(level)[-1]
    assert (line.kind, line.on_hand_change, line.reference, line.actor) == (
        StockMovement.Kind.RECEIPT,
        5,
        "PO-17",
        operator,
    )
    assert not ledger_mismatches().exists()


def test_booking_returns_to_the_list_it_was_opened_from(client, level):
    signed_in(client, "Warehouse operator")
    back = reverse(STOCK_LIST) + "?low_stock=yes"

    response = client.post(booking_url("receive", level) + "?next=" + back, {"quantity": "1"})

    assert response.url == back


def test_receiving_a_product_new_to_a_warehouse_starts_its_stock_level(client, level):
    signed_in(client, "Warehouse operator")
    other_warehouse = WarehouseFactory()

    response = client.post(
        reverse("admin:inventory_stocklevel_receive_new"),
        {
            "product": level.product.pk,
            "warehouse": other_warehouse.pk,
            "quantity": "4",
            "reference": "PO-18",
        },
    )

    new_level = StockLevel.objects.get(product=level.product, warehouse=other_warehouse)
    assert response.url == reverse("admin:inventory_stocklevel_change", args=[new_level.pk])
    assert new_level.on_hand == 4
    assert not ledger_mismatches().exists()


def test_count_books_the_difference_to_the_shelf(client, level):
    signed_in(client, "Warehouse operator")

    response = client.post(booking_url("count", level), {"counted": "7"})

    assert response.status_code == 302
    level.refresh_from_db()
    assert level.on_hand == 7
    assert (ledger_of(level)[-1].kind, ledger_of(level)[-1].on_hand_change) == (StockMovement.Kind.COUNT, -3)


def test_customer_service_may_not_book_stock(client, level):
    signed_in(client, "Customer service")

    assert client.get(booking_url("receive", level)).status_code == 403
    assert client.get(booking_url("count", level)).status_code == 403


def test_stock_ledger_cannot_be_added_to_or_edited_in_the_console(client, level):
    signed_in(client, "Manager")
    movement = ledger_of(level)[0]

    assert client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    page = client.get(reverse("admin:inventory_stockmovement_change", args=[movement.pk]))
    client.post(reverse("admin:inventory_stockmovement_change", args=[movement.pk]), {"on_hand_change": "99"})

    assert page.status_code == 200
    assert 'name="on_hand_change"' not in page.content.decode()
    movement.refresh_from_db()
    assert movement.on_hand_change == 10


# Dispatch and delivery -------------------------------------------------------------------------


@pytest.fixture
def packed_order(level):
    return advance(place(lines=[(level.product, 3)]), "packed")


@pytest.fixture
def shipped_order(level):
    return advance(place(lines=[(level.product, 3)]), "shipped")


def dispatch_url(order):
    return reverse("admin:logistics_shipment_dispatch", args=[order.pk])


def parcel_post(shipment, carrier, tracking_number):
    prefix = f"parcel-{shipment.pk}"
    return {"shipment": shipment.pk, f"{prefix}-carrier": carrier.pk, f"{prefix}-tracking_number": tracking_number}


def test_dispatch_page_lists_each_packed_parcel_with_the_carrier_of_its_chosen_service(client, level):
    service = CarrierServiceFactory(carrier=CarrierFactory(code="zto", name="ZTO Express"), supports_cod=True)
    CarrierFactory()
    packed = advance(place(lines=[(level.product, 3)]), "packed")
    parcel = packed.shipments.get()
    signed_in(client, "Warehouse operator")

    response = client.get(dispatch_url(packed))

    content = response.content.decode()
    assert packed.number in content
    assert level.product.sku in content
    assert str(service) in content
    (item,) = response.context["parcels"]
    assert item["parcel"] == parcel
    assert item["form"]["carrier"].value() == service.carrier.pk
    assert f'name="parcel-{parcel.pk}-tracking_number"' in content


def test_dispatch_ships_a_packed_parcel_and_takes_its_stock_off_the_shelf(client, packed_order, level):
    operator = signed_in(client, "Warehouse operator")
    carrier = CarrierFactory()
    parcel = packed_order.shipments.get()

    response = client.post(dispatch_url(packed_order), parcel_post(parcel, carrier, " SF5550000000035 "))

    assert response.url == reverse("admin:orders_order_change", args=[packed_order.pk])
    packed_order.refresh_from_db()
    assert packed_order.status == Order.Status.SHIPPED
    level.refresh_from_db()
    assert (level.on_hand, level.reserved) == (7, 0)
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number, parcel.carrier, parcel.dispatched_by) == (
        Shipment.Status.SHIPPED,
        "SF5550000000035",
        carrier,
        operator,
    )
    assert not ledger_mismatches().exists()


def test_dispatch_of_a_split_order_sends_one_parcel_and_comes_back_for_the_other(client):
    product = ProductFactory()
    first, second = WarehouseFactory(), WarehouseFactory()
    stock(product, first, 2)
    stock(product, second, 3)
    order = advance(place(lines=[(product, 4)]), "packed")
    near, far = order.shipments.order_by("warehouse__priority")
    signed_in(client, "Warehouse operator")
    carrier = CarrierFactory()

    page = client.get(dispatch_url(order))
    response = client.post(dispatch_url(order), parcel_post(near, carrier, "SF5550000000010"))

    assert [item["parcel"] for item in page.context["parcels"]] == [near, far]
    assert response.url == dispatch_url(order)
    order.refresh_from_db()
    far.refresh_from_db()
    assert (order.status, far.status) == (Order.Status.PARTIALLY_SHIPPED, Shipment.Status.PACKED)
    client.post(dispatch_url(order), parcel_post(far, carrier, "SF5550000000008"))
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_dispatch_refuses_a_tracking_number_already_in_use(client, packed_order, level):
    signed_in(client, "Warehouse operator")
    carrier = CarrierFactory()
    first = advance(place(lines=[(level.product, 1)]), "packed")
    client.post(dispatch_url(first), parcel_post(first.shipments.get(), carrier, "SF5550000000034"))
    parcel = packed_order.shipments.get()

    response = client.post(dispatch_url(packed_order), parcel_post(parcel, carrier, "SF5550000000034"))

    assert response.status_code == 200
    (item,) = response.context["parcels"]
    assert "already on another shipment" in " ".join(item["form"].errors["tracking_number"])
    packed_order.refresh_from_db()
    parcel.refresh_from_db()
    assert (packed_order.status, parcel.status, parcel.tracking_number) == (
        Order.Status.PACKED,
        Shipment.Status.PACKED,
        "",
    )


def test_dispatch_page_of_an_order_not_yet_packed_says_what_to_do_first_and_offers_no_form(client, level):
    signed_in(client, "Warehouse operator")
    confirmed = place(lines=[(level.product, 1)])

    response = client.get(dispatch_url(confirmed))

    content = response.content.decode()
    assert f"Order {confirmed.number} is Confirmed: pick and pack it before dispatch." in content
    assert response.context["parcels"] == []
    assert "Hand over to carrier" not in content and "tracking_number" not in content


def test_dispatch_posted_for_a_parcel_not_yet_packed_ships_nothing(client, level):
    signed_in(client, "Warehouse operator")
    picking = advance(place(lines=[(level.product, 1)]), "picking")
    parcel = picking.shipments.get()

    response = client.post(dispatch_url(picking), parcel_post(parcel, CarrierFactory(), "SF5550000000038"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "That parcel is not packed and waiting for dispatch" in content
    assert f"Order {picking.number} is Picking: pick and pack it before dispatch." in content
    parcel.refresh_from_db()
    picking.refresh_from_db()
    assert (parcel.status, parcel.tracking_number, picking.status) == (
        Shipment.Status.PENDING,
        "",
        Order.Status.PICKING,
    )


@pytest.mark.parametrize(
    "status, notice",
    [
        ("on_hold", "approve it, then pick and pack it before dispatch."),
        ("shipped", "everything on it has been dispatched."),
        ("cancelled", "there is nothing to dispatch."),
    ],
)
def test_dispatch_page_says_why_an_order_cannot_be_dispatched_whatever_its_status(client, level, status, notice):
    signed_in(client, "Manager")
    if status == "on_hold":
        order = place(lines=[(level.product, 1)], payment_method="card", paid_amount="1.00")
    elif status == "cancelled":
        order = place(lines=[(level.product, 1)])
        orders.cancel(order.pk, actor=SYSTEM, reason="Customer changed their mind")
        order.refresh_from_db()
    else:
        order = advance(place(lines=[(level.product, 1)]), status)
    assert order.status == status

    content = client.get(dispatch_url(order)).content.decode()

    assert f"Order {order.number} is {order.get_status_display()}: {notice}" in content
    assert "tracking_number" not in content


def test_dispatch_warns_of_the_balance_due_on_an_order_not_paid_on_delivery_and_still_ships_it(client, level):
    signed_in(client, "Manager")
    # An instalment plan ships once it has started, with the rest still due.
    unpaid = place(lines=[(level.product, 2)], payment_method="instalments", paid_amount="20.00")
    if unpaid.status == Order.Status.ON_HOLD:
        orders.approve(unpaid.pk, actor=SYSTEM)
    unpaid = advance(unpaid, "packed")
    carrier = CarrierFactory()

    page = client.get(dispatch_url(unpaid)).content.decode()
    assert "Not paid in full: CNY 30.00 is still due." in page
    assert "This order is paid by Instalments, not cash on delivery" in page

    client.post(dispatch_url(unpaid), parcel_post(unpaid.shipments.get(), carrier, "SF5550000000040"))
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.SHIPPED


def test_dispatch_of_a_cash_on_delivery_order_gives_no_payment_warning(client, packed_order):
    signed_in(client, "Manager")
    assert packed_order.balance_due > 0

    content = client.get(dispatch_url(packed_order)).content.decode()

    assert "Not paid in full" not in content


def test_dispatch_needs_the_dispatch_permission(client, packed_order):
    signed_in(client, "Customer service")
    parcel = packed_order.shipments.get()

    response = client.post(dispatch_url(packed_order), parcel_post(parcel, CarrierFactory(), "SF5550000000039"))

    assert response.status_code == 403
    parcel.refresh_from_db()
    assert parcel.status == Shipment.Status.PACKED


def test_deliver_marks_the_shipment_and_the_order_delivered(client, shipped_order):
    signed_in(client, "Logistics coordinator")
    shipment = shipped_order.shipments.get()
    url = reverse("admin:logistics_shipment_deliver", args=[shipment.pk])

    assert client.get(url).status_code == 405
    response = client.post(url)

    assert response.url == reverse("admin:orders_order_change", args=[shipped_order.pk])
    shipped_order.refresh_from_db()
    shipment.refresh_from_db()
    assert (shipped_order.status, shipment.status) == (Order.Status.DELIVERED, Shipment.Status.DELIVERED)


def test_mark_delivered_action_delivers_the_selected_shipments(client, shipped_order):
    signed_in(client, "Logistics coordinator")
    shipment = shipped_order.shipments.get()

    client.post(
        reverse("admin:logistics_shipment_changelist"), {"action": "mark_delivered", "_selected_action": [shipment.pk]}
    )

    shipment.refresh_from_db()
    shipped_order.refresh_from_db()
    assert (shipment.status, shipped_order.status) == (Shipment.Status.DELIVERED, Order.Status.DELIVERED)


def test_shipment_list_finds_a_shipment_by_tracking_number_and_links_it(client, shipped_order):
    signed_in(client, "Customer service")
    shipment = shipped_order.shipments.get()

    response = client.get(reverse("admin:logistics_shipment_changelist"), {"q": shipment.tracking_number})

    assert [row.pk for row in response.context["cl"].result_list] == [shipment.pk]
    assert shipment.tracking_url in response.content.decode()


# Order setup: blocklist, customers, intake settings --------------------------------------------


def test_blocklisted_phone_typed_with_spaces_holds_an_order_placed_with_plus_86(client, level):
    signed_in(client, "Order reviewer")

    response = client.post(
        reverse("admin:orders_blockedcontact_add"),
        {
            "kind": "phone",
            "phone": "138 0013 8000",
            "reason": "Refused three deliveries",
        },
    )
    order = place(lines=[(level.product, 1)], phone="+8613800138000")

    assert response.status_code == 302
    assert BlockedContact.objects.get().value == "+8613800138000"
    assert order.status == Order.Status.ON_HOLD
    assert "blocked_phone" in [reason["code"] for reason in order.hold_reasons]


def test_blocklisted_address_holds_an_order_to_it(client, level):
    signed_in(client, "Order reviewer")

    client.post(
        reverse("admin:orders_blockedcontact_add"),
        {
            "kind": "address",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "address": "文三路 90 号",
            "reason": "Fraud ring",
        },
    )
    order = place(lines=[(level.product, 1)])

    assert order.status == Order.Status.ON_HOLD
    assert "blocked_address" in [reason["code"] for reason in order.hold_reasons]


def test_blocking_an_address_without_a_city_names_the_missing_field(client):
    signed_in(client, "Order reviewer")

    response = client.post(
        reverse("admin:orders_blockedcontact_add"),
        {
            "kind": "address",
            "province": "浙江省",
            "address": "文三路 90 号",
            "reason": "Fraud ring",
        },
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["city"]
    assert not BlockedContact.objects.exists()


def test_customer_phone_is_masked_for_a_warehouse_operator_who_cannot_search_by_it(client, level):
    place(lines=[(level.product, 1)], phone="13800138000")
    signed_in(client, "Warehouse operator")

    listed = client.get(reverse("admin:orders_customer_changelist")).content.decode()
    searched = client.get(reverse("admin:orders_customer_changelist"), {"q": "+86 138-0013-8000"})

    assert "+86 138****8000" in listed
    assert "+8613800138000" not in listed and "+86 138 0013 8000" not in listed
    assert len(searched.context["cl"].result_list) == 0


def test_customer_service_finds_a_customer_by_phone_in_any_format(client, level):
    place(lines=[(level.product, 1)], phone="13800138000")
    signed_in(client, "Customer service")

    response = client.get(reverse("admin:orders_customer_changelist"), {"q": "+86 138-0013-8000"})

    assert len(response.context["cl"].result_list) == 1


def test_customer_service_corrects_a_customer_but_not_onto_another_customers_phone(client, level):
    first = place(lines=[(level.product, 1)], phone="13800138000").customer
    place(lines=[(level.product, 1)], phone="13900139000", address="文二路 1 号")
    signed_in(client, "Customer service")
    url = reverse("admin:orders_customer_change", args=[first.pk])

    taken = client.post(url, {"name": "王大明", "phone": "139 0013 9000", "email": ""})
    client.post(url, {"name": "王大明", "phone": "+86 137 0013 7000", "email": "w@example.com"})

    assert "phone" in taken.context["adminform"].form.errors
    first.refresh_from_db()
    assert (first.name, first.phone, first.email) == ("王大明", "+8613700137000", "w@example.com")


def test_customer_service_sees_the_full_customer_phone(client, level):
    place(lines=[(level.product, 1)], phone="13800138000")
    signed_in(client, "Customer service")

    response = client.get(reverse("admin:orders_customer_changelist"))

    assert "+86 138 0013 8000" in response.content.decode()


def test_intake_settings_open_from_the_list_and_a_manager_changes_them(client):
    signed_in(client, "Manager")
    settings_row = IntakeSettings.current()
    change_url = reverse("admin:orders_intakesettings_change", args=[settings_row.pk])

    assert client.get(reverse("admin:orders_intakesettings_changelist")).url == change_url
    assert client.get(change_url).status_code == 200
    response = client.post(
        change_url,
        {
            "high_value_threshold": "8000.00",
            "new_customer_value_threshold": "2000.00",
            "cod_limit": "3000.00",
            "velocity_window_hours": "24",
            "velocity_max_orders": "3",
            "hold_score": "60",
        },
    )

    assert response.status_code == 302
    settings_row.refresh_from_db()
    assert (settings_row.high_value_threshold, settings_row.hold_score) == (8000, 60)
    assert IntakeSettings.objects.count() == 1


def test_intake_settings_are_refused_to_an_order_reviewer(client):
    signed_in(client, "Order reviewer")
    settings_row = IntakeSettings.current()
    change_url = reverse("admin:orders_intakesettings_change", args=[settings_row.pk])

    assert client.get(reverse("admin:orders_intakesettings_changelist")).status_code == 403
    assert client.get(change_url).status_code == 403
    assert client.post(change_url, {"hold_score": "1"}).status_code == 403
    settings_row.refresh_from_db()
    assert settings_row.hold_score == 50


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(document.cookie)//{tracking_number}",
        "https://track.example.com/",
        "ftp://track.example.com/{tracking_number}",
    ],
)
def test_a_carrier_tracking_link_must_be_a_web_address_with_the_number_slot(client, template):
    signed_in(client, "Logistics coordinator")

    response = client.post(
        reverse("admin:logistics_carrier_add"),
        {"code": "bad", "name": "Bad", "tracking_url_template": template, "active": "on"},
    )

    assert "tracking_url_template" in response.context["adminform"].form.errors
    assert not Carrier.objects.filter(code="bad").exists()


def test_a_tracking_number_is_escaped_inside_the_carrier_link():
    carrier = Carrier(code="x", name="X", tracking_url_template="https://t.example.com/?no={tracking_number}")

    assert carrier.tracking_url('1"><script>') == "https://t.example.com/?no=1%22%3E%3Cscript%3E"
