"""ABC classes, turnover, days of inventory, dead stock and stock value (planning's classification),
worked out from a hand-made sales history, and the inventory page that shows them."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import Product, StockMovement
from orders import services as orders
from planning import services
from planning.models import ClassificationSettings, InventorySnapshot, StockFigure, WarehouseFigure
from tests.factories import ProductFactory, WarehouseFactory, place_apart, staff, stock

pytestmark = pytest.mark.django_db

PAGE = "/admin/planning/inventorysnapshot/"
EXPORT = "/admin/planning/inventorysnapshot/export/"
RECOMPUTE = "/admin/planning/inventorysnapshot/recompute/"


def days_ago(days):
    return timezone.now() - timedelta(days=days)


def sell(product, quantity, *, days=10):
    return place_apart(lines=[(product, quantity)], placed_at=days_ago(days))


def classes():
    return dict(Product.objects.values_list("sku", "abc_class"))


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ", name="Hangzhou")


def priced(sku, warehouse, *, on_hand=1000, price="10.00", cost="4.00"):
    product = ProductFactory(sku=sku, unit_price=Decimal(price), cost=Decimal(cost))
    stock(product, warehouse, on_hand)
    return product


@pytest.fixture
def five_products(warehouse):
    """Revenue 500, 300, 150, 50 and nothing: 50%, 30%, 15%, 5% and 0% of 1,000."""
    products = [priced(f"P{n}", warehouse) for n in range(1, 6)]
    for product, units in zip(products, [50, 30, 15, 5], strict=False):
        sell(product, units)
    return products


# --- classes ---------------------------------------------------------------------------------------


def test_products_are_classed_by_their_share_of_revenue_and_unsold_ones_are_c(five_products):
    services.recompute_classification(actor=SYSTEM)

    assert classes() == {"P1": "A", "P2": "A", "P3": "B", "P4": "C", "P5": "C"}


def test_the_product_that_crosses_a_threshold_belongs_to_the_class_it_crosses_into(warehouse):
    big, small = priced("BIG", warehouse), priced("SMALL", warehouse)
    sell(big, 90)
    sell(small, 10)

    services.recompute_classification(actor=SYSTEM)

    assert classes() == {"BIG": "A", "SMALL": "B"}


def test_products_with_the_same_revenue_share_one_class(warehouse):
    # 40% each for the two tied ones: the pair crosses 80% together and both are A.
    first, second, third = priced("T1", warehouse), priced("T2", warehouse), priced("T3", warehouse)
    sell(first, 40)
    sell(second, 40)
    sell(third, 20)

    services.recompute_classification(actor=SYSTEM)

    assert classes() == {"T1": "A", "T2": "A", "T3": "B"}


def test_ties_across_a_boundary_never_split():
    # Ranked one by one, the three tied products would start at 70%, 80% and 90%: A, B and C.
    tied = {1: Decimal(70), 2: Decimal(10), 3: Decimal(10), 4: Decimal(10)}

    result = services.classify(tied, services.Thresholds(Decimal(75), Decimal(15)))

    assert result == {1: "A", 2: "A", 3: "A", 4: "A"}


def test_cancelled_orders_and_sales_before_the_period_do_not_count(warehouse):
    steady, cancelled_mostly, old = (
        priced("STEADY", warehouse),
        priced("CANCELLED", warehouse),
        priced("OLD", warehouse),
    )
    sell(steady, 10)
    sell(cancelled_mostly, 1)
    big = sell(cancelled_mostly, 500)
    orders.cancel(big.pk, actor=SYSTEM, reason="customer changed their mind")
    sell(old, 900, days=120)

    snapshot = services.recompute_classification(actor=SYSTEM)

    assert classes() == {"STEADY": "A", "CANCELLED": "B", "OLD": "C"}
    assert snapshot.revenue == Decimal("110.00")


def test_edited_thresholds_class_the_products_again(five_products):
    services.recompute_classification(actor=SYSTEM)
    services.update_classification_settings(
        period_days=90, a_share=Decimal(50), b_share=Decimal(45), dead_after_days=90, actor=SYSTEM
    )

    services.recompute_classification(actor=SYSTEM)

    assert classes() == {"P1": "A", "P2": "B", "P3": "B", "P4": "C", "P5": "C"}


def test_thresholds_must_leave_class_c_a_share():
    with pytest.raises(ValidationError, match="class C keeps a share"):
        services.update_classification_settings(
            period_days=90, a_share=Decimal(80), b_share=Decimal(20), dead_after_days=90, actor=SYSTEM
        )

    assert ClassificationSettings.current().b_share == Decimal(15)


def test_a_longer_period_counts_older_sales(warehouse):
    recent, older = priced("RECENT", warehouse), priced("OLDER", warehouse)
    sell(recent, 10)
    sell(older, 50, days=150)
    services.update_classification_settings(
        period_days=180, a_share=Decimal(80), b_share=Decimal(15), dead_after_days=90, actor=SYSTEM
    )

    services.recompute_classification(actor=SYSTEM)

    assert classes() == {"RECENT": "B", "OLDER": "A"}


def test_only_a_role_that_classifies_may_set_classes(five_products):
    with pytest.raises(PermissionDenied):
        inventory.set_abc_classes({five_products[0].pk: "A"}, actor=staff("Warehouse operator"))
    with pytest.raises(PermissionDenied):
        services.recompute_classification(actor=staff("Analyst"))

    assert set(classes().values()) == {""}


def test_setting_classes_writes_only_the_products_that_change(five_products):
    first, second = five_products[:2]
    assert inventory.set_abc_classes({first.pk: "A", second.pk: "B"}, actor=SYSTEM) == 2

    assert inventory.set_abc_classes({first.pk: "A", second.pk: "C"}, actor=SYSTEM) == 1
    assert classes()["P2"] == "C"
    with pytest.raises(ValidationError):
        inventory.set_abc_classes({first.pk: "D"}, actor=SYSTEM)


def test_the_nightly_command_classifies_as_the_system(five_products):
    call_command("classify_products", stdout=StringIO())

    snapshot = InventorySnapshot.objects.get()
    assert snapshot.computed_by is None
    assert classes()["P1"] == "A"


def test_a_new_computation_replaces_the_snapshot(five_products):
    services.recompute_classification(actor=SYSTEM)
    services.recompute_classification(actor=SYSTEM)

    assert InventorySnapshot.objects.count() == 1
    assert StockFigure.objects.count() == 5


# --- turnover, days of inventory, dead stock, stock value -------------------------------------------


def backdate_receipts(product, days):
    StockMovement.objects.filter(stock_level__product=product, kind=StockMovement.Kind.RECEIPT).update(
        created_at=days_ago(days)
    )


def test_turnover_is_units_sold_over_the_average_units_on_hand(warehouse):
    kept_all_period = priced("ALL", warehouse, on_hand=100)
    backdate_receipts(kept_all_period, 200)
    half_period = priced("HALF", warehouse, on_hand=100)
    backdate_receipts(half_period, 45)
    sell(kept_all_period, 10)
    sell(half_period, 10)

    services.recompute_classification(actor=SYSTEM)

    whole = StockFigure.objects.get(product=kept_all_period)
    assert (whole.average_on_hand, whole.units_sold, whole.turnover) == (Decimal("100.00"), 10, Decimal("0.10"))
    assert whole.days_of_inventory == Decimal("900.0")
    half = StockFigure.objects.get(product=half_period)
    assert abs(half.average_on_hand - Decimal(50)) < Decimal("0.1")
    assert half.turnover == Decimal("0.20")
    assert half.days_of_inventory == Decimal("450.0")


def test_stock_that_left_lowers_the_average_for_the_part_of_the_period_after_it(warehouse):
    product = priced("SHIP", warehouse, on_hand=100)
    backdate_receipts(product, 200)
    level = product.stock_levels.get()
    inventory.adjust(stock_level_id=level.pk, change=-60, reason="broken shelf", actor=SYSTEM)
    StockMovement.objects.filter(stock_level=level, kind=StockMovement.Kind.ADJUSTMENT).update(created_at=days_ago(30))

    services.recompute_classification(actor=SYSTEM)

    # 100 units for 60 of the 90 days, 40 for the last 30: 80 on average.
    assert abs(StockFigure.objects.get(product=product).average_on_hand - Decimal(80)) < Decimal("0.1")


def test_units_sold_are_counted_in_the_warehouse_that_gave_them(warehouse):
    second = WarehouseFactory(code="SH", name="Shanghai")
    product = priced("SPLIT", warehouse, on_hand=3)
    stock(product, second, 10)
    sell(product, 3)
    sell(product, 2)

    services.recompute_classification(actor=SYSTEM)

    sold = dict(StockFigure.objects.filter(product=product).values_list("warehouse__code", "units_sold"))
    assert sold == {"HZ": 3, "SH": 2}


def test_dead_stock_is_stock_on_hand_not_sold_for_ninety_days(warehouse):
    sold_lately, _sold_long_ago, _never_sold = (
        priced("LATE", warehouse),
        priced("LONG", warehouse),
        priced("NEVER", warehouse),
    )
    empty = priced("EMPTY", warehouse, on_hand=0)
    sell(sold_lately, 1, days=80)
    sell(_sold_long_ago, 1, days=100)

    services.recompute_classification(actor=SYSTEM)

    dead = set(StockFigure.objects.filter(dead=True).values_list("product__sku", flat=True))
    assert dead == {"LONG", "NEVER"}
    assert not StockFigure.objects.filter(product=empty).exists()
    assert StockFigure.objects.get(product=sold_lately).last_sold_at is not None


def test_stock_value_per_warehouse_is_on_hand_at_unit_cost(warehouse):
    second = WarehouseFactory(code="SH", name="Shanghai")
    cheap = priced("CHEAP", warehouse, on_hand=10, cost="2.50")
    dear = priced("DEAR", warehouse, on_hand=3, cost="100.00")
    stock(dear, second, 2)
    sell(cheap, 4)

    services.recompute_classification(actor=SYSTEM)

    figures = {f.warehouse.code: f for f in WarehouseFigure.objects.select_related("warehouse")}
    assert figures["HZ"].stock_value == Decimal("325.00")
    assert figures["SH"].stock_value == Decimal("200.00")
    assert figures["HZ"].cost_of_sales == Decimal("10.00")
    assert (figures["HZ"].dead_products, figures["HZ"].dead_value) == (1, Decimal("300.00"))
    assert (figures["SH"].dead_products, figures["SH"].dead_value) == (1, Decimal("200.00"))


# --- the page --------------------------------------------------------------------------------------


@pytest.fixture
def computed(five_products):
    services.recompute_classification(actor=SYSTEM)
    return five_products


def signed_in(client, role):
    client.force_login(staff(role))
    return client


def test_a_manager_sees_the_classes_stock_value_and_dead_stock(client, computed):
    response = signed_in(client, "Manager").get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<svg class="oc-chart') == 3
    assert 'data-class="A"' in page and 'id="inventory-dead"' in page
    assert 'data-sku="P5"' in page
    assert 'id="inventory-recompute"' in page


def test_an_analyst_sees_the_page_but_may_not_recompute(client, computed):
    signed_in(client, "Analyst")

    page = client.get(PAGE).content.decode()
    assert 'id="inventory-figures"' in page and 'id="inventory-recompute"' not in page
    assert client.post(RECOMPUTE).status_code == 403


@pytest.mark.parametrize("role", ["Warehouse operator", "Customer service", "Finance"])
def test_other_roles_may_not_see_the_inventory_figures(client, computed, role):
    signed_in(client, role)

    assert client.get(PAGE).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_recomputing_from_the_page_writes_a_new_snapshot(client, five_products):
    signed_in(client, "Manager")
    assert 'id="inventory-empty"' in client.get(PAGE).content.decode()

    response = client.post(RECOMPUTE, {"query": ""}, follow=True)

    assert response.status_code == 200
    assert InventorySnapshot.objects.get().computed_by.username.startswith("manager")
    assert classes()["P1"] == "A"


def test_the_page_filters_by_warehouse(client, computed, warehouse):
    other = WarehouseFactory(code="SH", name="Shanghai")
    stock(ProductFactory(sku="ELSEWHERE", cost=Decimal("1.00")), other, 5)
    services.recompute_classification(actor=SYSTEM)
    signed_in(client, "Manager")

    page = client.get(PAGE, {"warehouse": other.pk}).content.decode()

    assert 'data-sku="ELSEWHERE"' in page and 'data-sku="P1"' not in page


def test_the_page_reads_as_many_queries_for_many_products_as_for_few(client, warehouse):
    signed_in(client, "Manager")
    for n in range(3):
        priced(f"FEW{n}", warehouse)
    services.recompute_classification(actor=SYSTEM)
    with CaptureQueriesContext(connection) as few:
        client.get(PAGE)
    for n in range(60):
        priced(f"MANY{n}", warehouse)
    services.recompute_classification(actor=SYSTEM)
    with CaptureQueriesContext(connection) as many:
        client.get(PAGE)

    assert len(many) == len(few)


def test_the_workbook_holds_every_stock_figure_and_the_dead_stock(client, computed):
    response = signed_in(client, "Manager").get(EXPORT)

    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["Figures", "ABC classes", "Warehouses", "Stock", "Dead stock"]
    stock_rows = list(book["Stock"].iter_rows(min_row=2, values_only=True))
    assert len(stock_rows) == 5
    assert [row[0] for row in book["Dead stock"].iter_rows(min_row=2, values_only=True)] == ["P5"]
    classes_sheet = {row[0]: row for row in book["ABC classes"].iter_rows(min_row=2, values_only=True)}
    assert classes_sheet["A"][1] == 2 and classes_sheet["A"][2] == 800


def test_a_manager_edits_the_thresholds_in_the_console(client):
    signed_in(client, "Manager")
    url = f"/admin/planning/classificationsettings/{ClassificationSettings.current().pk}/change/"
    form = {"period_days": 60, "a_share": "70", "b_share": "20", "dead_after_days": 120}

    assert client.post(url, form).status_code == 302
    refused = client.post(url, {**form, "b_share": "40"})

    settings = ClassificationSettings.current()
    assert (settings.period_days, settings.a_share, settings.b_share) == (60, Decimal(70), Decimal(20))
    assert "class C keeps a share" in refused.content.decode()
