"""Bundles (kits): a product made of other products, holding no stock of its own. Its availability
is its components', intake expands it into component lines with its price spread over them, stock
is reserved and picked for the components, and a return of one component refunds its share."""

from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import Client

from aftersales import services as aftersales
from aftersales.models import Outcome, ReturnRequest
from inventory.models import BundleComponent, StockLevel
from inventory.selectors import bundle_availability
from orders.models import Allocation, OrderLine, Refund
from orders.services.catalogue import spread
from tests.factories import ProductFactory, WarehouseFactory, advance, order_input, place, staff, stock
from tests.test_api_orders import ORDERS, order_body
from tests.test_exchanges_repairs import inspected, resolve
from tests.test_import_orders import check, confirm, row, xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="MAIN")


@pytest.fixture
def teapot(warehouse):
    product = ProductFactory(sku="TEAPOT", name="Teapot", unit_price=Decimal("60.00"))
    stock(product, warehouse, 10)
    return product


@pytest.fixture
def cup(warehouse):
    product = ProductFactory(sku="CUP", name="Cup", unit_price=Decimal("20.00"))
    stock(product, warehouse, 30)
    return product


@pytest.fixture
def tea_set(teapot, cup):
    """A teapot and four cups for 99.99 (list prices come to 140)."""
    bundle = ProductFactory(sku="TEA-SET", name="Tea set", unit_price=Decimal("99.99"))
    BundleComponent.objects.create(bundle=bundle, component=teapot, quantity=1)
    BundleComponent.objects.create(bundle=bundle, component=cup, quantity=4)
    return bundle


def reserved(product):
    return sum(StockLevel.objects.filter(product=product).values_list("reserved", flat=True))


def test_a_bundles_availability_is_the_least_of_its_components_available_over_their_quantity(tea_set, cup):
    # 10 teapots would make 10 sets, 30 cups make 7 (30 // 4).
    assert bundle_availability([tea_set.pk]) == {tea_set.pk: 7}

    place(lines=[(cup, 3)])

    assert bundle_availability([tea_set.pk]) == {tea_set.pk: 6}


def test_a_bundle_line_becomes_component_lines_with_the_price_spread_exactly(tea_set, teapot, cup):
    order = place(lines=[(tea_set, 2)])

    lines = list(order.lines.order_by("pk"))
    assert [(line.sku, line.quantity, line.bundle_sku, line.bundle_quantity, line.bundle_group) for line in lines] == [
        ("TEAPOT", 2, "TEA-SET", 2, 1),
        ("CUP", 8, "TEA-SET", 2, 1),
    ]
    # 199.98 shared 60 : 80 (the teapot's list price against four cups'), the cent left on the cups.
    assert [line.line_total for line in lines] == [Decimal("85.70"), Decimal("114.28")]
    assert sum(line.line_total for line in lines) == order.subtotal == Decimal("199.98")
    assert order.status == "confirmed"


def test_the_spread_always_adds_up_to_the_price():
    assert spread(Decimal("10.00"), [Decimal(1)] * 3) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    assert spread(Decimal("0.01"), [Decimal(1), Decimal(1), Decimal(0)]) == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.01"),
    ]
    assert spread(Decimal("5.00"), [Decimal(0), Decimal(0)]) == [Decimal("2.50"), Decimal("2.50")]


def test_two_bundle_lines_of_one_order_get_their_own_group(tea_set, teapot):
    order = place(lines=[(tea_set, 1), (teapot, 1), (tea_set, 1)])

    assert list(order.lines.order_by("pk").values_list("sku", "bundle_group")) == [
        ("TEAPOT", 1),
        ("CUP", 1),
        ("TEAPOT", None),
        ("TEAPOT", 2),
        ("CUP", 2),
    ]


def test_intake_reserves_the_components_and_nothing_of_the_bundle(tea_set, teapot, cup):
    order = place(lines=[(tea_set, 2)])

    assert (reserved(teapot), reserved(cup)) == (2, 8)
    assert not StockLevel.objects.filter(product=tea_set).exists()
    assert Allocation.objects.filter(line__order=order).count() == 2


def test_a_bundle_short_of_one_component_holds_the_order_naming_the_component(tea_set, teapot, cup):
    order = place(lines=[(tea_set, 8)])  # 32 cups wanted, 30 there

    assert order.status == "on_hold"
    assert (reserved(teapot), reserved(cup)) == (0, 0)
    assert any("CUP: 2" in str(reason) for reason in order.hold_reasons)


def test_a_bundle_with_a_component_no_longer_sold_is_refused(tea_set, cup):
    cup.active = False
    cup.save()

    with pytest.raises(ValidationError) as refused:
        place(lines=[(tea_set, 1)])

    assert "CUP" in refused.value.message_dict["lines[1].sku"][0]


def test_a_given_bundle_price_is_spread_too(tea_set):
    data = order_input(lines=[(tea_set, 1)])
    data.lines[0].unit_price = "70.00"

    from orders.services import place_order

    order = place_order(data, actor=staff()).order

    assert list(order.lines.order_by("pk").values_list("line_total", flat=True)) == [Decimal("30.00"), Decimal("40.00")]


def test_returning_one_component_refunds_its_spread_share(tea_set, teapot, warehouse):
    order = advance(place(lines=[(tea_set, 1)], payment_method="card", paid_amount="99.99"), "delivered")
    teapot_line = order.lines.get(product=teapot)
    assert teapot_line.line_total == Decimal("42.85")

    case = inspected(order, (teapot, 1), wanted=Outcome.REFUND, warehouse=warehouse)
    case = resolve(case, Outcome.REFUND)

    assert case.status == ReturnRequest.Status.RESOLVED
    assert Refund.objects.get().amount == Decimal("42.85")


def test_returning_some_cups_refunds_their_part_of_the_share(tea_set, cup, warehouse):
    order = advance(place(lines=[(tea_set, 1)], payment_method="card", paid_amount="99.99"), "delivered")

    case = inspected(order, (cup, 2), wanted=Outcome.REFUND, warehouse=warehouse)

    # The cups' share is 57.14; half of them give back 28.57.
    assert aftersales.refund_value(case).goods == Decimal("28.57")


def test_the_components_are_picked_and_packed_like_any_line(tea_set, teapot, cup):
    order = advance(place(lines=[(tea_set, 1)]), "packed")

    shipment = order.shipments.get()
    assert sorted(shipment.lines.values_list("order_line__sku", "packed_quantity")) == [("CUP", 4), ("TEAPOT", 1)]


def test_the_api_takes_a_bundle_sku_and_answers_its_component_lines(api, tea_set):
    response = api.post(ORDERS, order_body(("TEA-SET", 1)), format="json")

    assert response.status_code == 201, response.content
    lines = response.json()["lines"]
    assert [(line["sku"], line["quantity"], line["bundle_sku"], line["bundle_group"]) for line in lines] == [
        ("TEAPOT", 1, "TEA-SET", 1),
        ("CUP", 4, "TEA-SET", 1),
    ]
    assert [line["is_gift"] for line in lines] == [False, False]


def test_the_excel_import_takes_a_bundle_sku(web, tea_set):
    clerk = staff("Customer service")
    job = confirm(check(xlsx([row("B-1", "TEA-SET", 2)]), actor=clerk), actor=clerk)

    assert job.status == "done", job.errors
    assert list(OrderLine.objects.values_list("sku", "quantity", "bundle_sku")) == [
        ("TEAPOT", 2, "TEA-SET"),
        ("CUP", 8, "TEA-SET"),
    ]


def test_the_order_page_groups_components_under_their_bundle(tea_set):
    order = place(lines=[(tea_set, 2)])
    client = Client()
    client.force_login(staff())

    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "Tea set" in page and "TEA-SET" in page and "× 2" in page
    assert 'class="oc-bundle-component"' in page


def test_the_product_admin_refuses_a_bundle_in_a_bundle_and_a_bundle_of_itself(tea_set, teapot):
    from inventory.admin.stock import BundleComponentFormSet

    def formset(bundle, *components):
        data = {
            "components-TOTAL_FORMS": str(len(components)),
            "components-INITIAL_FORMS": "0",
            "components-MIN_NUM_FORMS": "0",
            "components-MAX_NUM_FORMS": "1000",
        }
        for n, (product, quantity) in enumerate(components):
            data[f"components-{n}-component"] = str(product.pk)
            data[f"components-{n}-quantity"] = str(quantity)
        admin_formset = BundleComponentFormSet(data, instance=bundle, prefix="components")
        return admin_formset

    gift_box = ProductFactory(sku="GIFT-BOX")
    assert not formset(gift_box, (tea_set, 1)).is_valid()
    assert not formset(gift_box, (gift_box, 1)).is_valid()
    assert not formset(gift_box, (teapot, 0)).is_valid()
    assert formset(gift_box, (teapot, 2)).is_valid()
    # A product in a bundle cannot become a bundle itself.
    assert not formset(teapot, (gift_box, 1)).is_valid()
    assert site.is_registered(type(tea_set))


def test_the_pick_list_and_packing_slip_show_the_components_under_their_bundle(tea_set):
    from logistics.selectors import pick_sheet
    from tests.factories import pick_all

    order = place(lines=[(tea_set, 1)])
    wave = pick_all(order)[0]
    client = Client()
    client.force_login(staff())

    assert [(row.sku, row.bundle_skus) for row in pick_sheet(wave.pk).rows] == [
        ("CUP", "TEA-SET"),
        ("TEAPOT", "TEA-SET"),
    ]
    assert "in bundle TEA-SET" in client.get(f"/admin/logistics/pickwave/{wave.pk}/print/").content.decode()
    slip = client.get(f"/admin/logistics/shipment/{order.shipments.get().pk}/packing-slip/").content.decode()
    assert "Bundle Tea set × 1" in slip
    assert slip.count('class="bundle-component"') == 2


def test_the_products_api_shows_a_bundles_availability_from_its_components(api, tea_set):
    response = api.get("/api/v1/products/", {"sku": "TEA-SET,CUP"})

    assert {row["sku"]: row["available"] for row in response.json()["results"]} == {"TEA-SET": 7, "CUP": 30}


def test_the_product_page_shows_the_bundles_components_and_how_many_can_be_sold(tea_set):
    client = Client()
    client.force_login(staff("Manager"))

    page = client.get(f"/admin/inventory/product/{tea_set.pk}/change/").content.decode()

    assert "Bundles available" in page
    assert '<div class="readonly">7</div>' in page
    assert 'name="components-0-quantity"' in page


def test_an_edit_adding_a_bundle_expands_it_through_intakes_resolution_in_a_new_group(tea_set, teapot):
    from orders import services as orders_services
    from orders.services import LineInput

    order = place(lines=[(tea_set, 1)])
    orders_services.edit_order(order.pk, actor=staff("Customer service"), add=[LineInput(sku="TEA-SET", quantity=1)])

    assert list(order.lines.order_by("pk").values_list("sku", "bundle_group")) == [
        ("TEAPOT", 1),
        ("CUP", 1),
        ("TEAPOT", 2),
        ("CUP", 2),
    ]
    order.refresh_from_db()
    assert order.subtotal == Decimal("199.98")
