"""Replenishment from sales: safety stock, reorder point and the suggested quantity on a hand-made
history, transfers from a warehouse with plenty, the run-out warnings told to buyers once, and
suggestions turned into draft purchase orders and transfers."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from core.actors import SYSTEM
from inventory import services as inventory
from inventory.models import PurchaseOrder, Transfer
from planning import services
from planning.models import PlanningSettings, ReplenishmentSuggestion, RunOutWarning
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
    place_apart,
    staff,
    stock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = timezone.now().replace(microsecond=0)
Kind = ReplenishmentSuggestion.Kind


def sold(product, quantity, days_ago):
    return place_apart(lines=[(product, quantity)], placed_at=NOW - timedelta(days=days_ago, hours=1))


def run():
    return services.plan_replenishment(actor=SYSTEM, now=NOW)


def suggestion(product, warehouse):
    return ReplenishmentSuggestion.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def shop():
    first, second = WarehouseFactory(priority=1), WarehouseFactory(priority=2)
    supplier = SupplierFactory(lead_time_days=9, currency="CNY")
    return {"first": first, "second": second, "supplier": supplier}


def test_the_normal_quantile_of_the_service_level():
    assert services.service_level_z(Decimal("95.0")) == Decimal("1.6449")
    assert services.service_level_z(Decimal("99.0")) == Decimal("2.3263")


def test_the_need_is_raised_to_the_minimum_quantity_and_rounded_up_to_whole_packs():
    result = services.figures(
        daily_rate=Decimal("2"),
        daily_deviation=Decimal("0"),
        lead_time_days=5,
        position=3,
        z=Decimal("1.6449"),
        review_period_days=7,
        pack_size=10,
        minimum_quantity=25,
    )

    # Reorder point 2 × 5 = 10; need 10 + 2 × 7 − 3 = 21, raised to 25, rounded to 3 packs of 10.
    assert (result.safety_stock, result.reorder_point, result.need, result.quantity) == (0, 10, 21, 30)


def test_above_the_reorder_point_nothing_is_suggested():
    result = services.figures(
        daily_rate=Decimal("2"),
        daily_deviation=Decimal("0"),
        lead_time_days=5,
        position=11,
        z=Decimal("1.6449"),
        review_period_days=7,
    )

    assert (result.reorder_point, result.need, result.quantity) == (10, 0, 0)


def test_safety_stock_reorder_point_and_a_purchase_rounded_to_the_suppliers_pack_and_minimum(shop):
    product = ProductFactory()
    SupplierProductFactory(
        supplier=shop["supplier"], product=product, pack_size=12, minimum_quantity=30, preferred=True
    )
    stock(product, shop["first"], 30)
    for quantity, days_ago in [(3, 0), (5, 3), (6, 10), (9, 40)]:
        sold(product, quantity, days_ago)
    inventory.create_purchase_order(
        supplier_id=shop["supplier"].pk, warehouse_id=shop["first"].pk, lines=[(product.pk, 2)], actor=SYSTEM
    )

    run()

    row = suggestion(product, shop["first"])
    # σ = 1.270 (3, 5, 6, 9 over 90 days), mean 23/90 = 0.256, lead time 9 days, z(95%) = 1.6449:
    # safety stock 1.6449 × 1.270 × √9 = 6.27 → 7; reorder point 0.256 × 9 + 6.27 = 8.57 → 9.
    assert (row.daily_rate, row.daily_deviation) == (Decimal("0.256"), Decimal("1.270"))
    assert (row.safety_stock, row.reorder_point) == (7, 9)
    # 30 received, 23 reserved: 7 available and 2 on the draft purchase order, 9 ≤ 9. Need
    # 9 + 0.256 × 7 − 9 = 1.8 → 2, raised to the minimum 30, rounded up to 3 packs of 12.
    assert (row.on_hand, row.available, row.incoming) == (30, 7, 2)
    assert (row.kind, row.supplier, row.quantity) == (Kind.PURCHASE, shop["supplier"], 36)
    assert row.cost == Decimal("288.00")
    assert row.days_of_cover == Decimal("15.0")


def test_a_higher_service_level_keeps_more_safety_stock(shop):
    product = ProductFactory()
    SupplierProductFactory(supplier=shop["supplier"], product=product, preferred=True)
    stock(product, shop["first"], 23)
    for quantity, days_ago in [(3, 0), (5, 3), (6, 10), (9, 40)]:
        sold(product, quantity, days_ago)
    PlanningSettings.objects.update_or_create(pk=1, defaults={"service_level": Decimal("99.0")})

    run()

    # 2.3263 × 1.270 × 3 = 8.86 → 9; reorder point 2.304 + 8.86 = 11.17 → 12.
    assert (suggestion(product, shop["first"]).safety_stock, suggestion(product, shop["first"]).reorder_point) == (
        9,
        12,
    )


def test_another_warehouse_with_plenty_above_its_reorder_point_is_suggested_as_a_transfer(shop):
    product = ProductFactory()
    SupplierProductFactory(supplier=shop["supplier"], product=product, preferred=True)
    stock(product, shop["first"], 10)
    stock(product, shop["second"], 200)
    for days_ago in range(10):
        sold(product, 1, days_ago)

    run()

    row = suggestion(product, shop["first"])
    # Mean 10/90 = 0.111, σ 0.314: safety stock 1.55 → 2, reorder point 1.0 + 1.55 → 3; need
    # 3 + 0.111 × 7 − 0 = 3.8 → 4, moved as they are (no packs).
    assert (row.reorder_point, row.available) == (3, 0)
    assert (row.kind, row.transfer_from, row.quantity) == (Kind.TRANSFER, shop["second"], 4)
    assert not ReplenishmentSuggestion.objects.filter(warehouse=shop["second"]).exists()


def test_without_a_warehouse_to_spare_it_is_a_purchase(shop):
    product = ProductFactory()
    SupplierProductFactory(supplier=shop["supplier"], product=product, preferred=True)
    stock(product, shop["first"], 10)
    stock(product, shop["second"], 3)
    for days_ago in range(10):
        sold(product, 1, days_ago)

    run()

    assert suggestion(product, shop["first"]).kind == Kind.PURCHASE


def test_stock_running_out_within_its_lead_time_tells_the_buyers_once_until_it_recovers(
    shop, django_capture_on_commit_callbacks
):
    buyer = staff("Buyer", email="buyer@example.com")
    staff("Warehouse operator", email="floor@example.com")
    product = ProductFactory(sku="RUN-OUT")
    SupplierProductFactory(supplier=shop["supplier"], product=product, preferred=True)
    level = stock(product, shop["first"], 10)
    for days_ago in range(10):
        sold(product, 1, days_ago)

    with django_capture_on_commit_callbacks(execute=True):
        first = run()
    with django_capture_on_commit_callbacks(execute=True):
        second = run()

    assert (first.warnings_raised, second.warnings_raised) == (1, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [buyer.email]
    assert "RUN-OUT" in mail.outbox[0].body
    warning = RunOutWarning.objects.get(product=product, warehouse=shop["first"])
    assert (warning.days_of_cover, warning.lead_time_days) == (Decimal("0.0"), 9)

    inventory.receive(stock_level_id=level.pk, quantity=50, actor=SYSTEM, reference="delivery")
    recovered = run()
    assert recovered.warnings_cleared == 1
    assert not RunOutWarning.objects.exists()


def test_the_scheduled_command_runs_a_planning_run(shop):
    product = ProductFactory()
    stock(product, shop["first"], 1)
    sold(product, 1, 0)

    out = StringIO()
    call_command("plan_replenishment", stdout=out)

    row = suggestion(product, shop["first"])
    # No supplier: the settings' lead time, and nothing to buy it from.
    assert (row.supplier, row.lead_time_days) == (None, 14)
    assert "1 suggestions" in out.getvalue()


@pytest.fixture
def two_suggestions(shop):
    other_supplier = SupplierFactory(lead_time_days=5)
    bought = [ProductFactory(), ProductFactory(), ProductFactory()]
    SupplierProductFactory(supplier=shop["supplier"], product=bought[0], preferred=True)
    SupplierProductFactory(supplier=shop["supplier"], product=bought[1], preferred=True)
    SupplierProductFactory(supplier=other_supplier, product=bought[2], preferred=True)
    for product in bought:
        stock(product, shop["first"], 2)
        sold(product, 2, 1)
    run()
    return {**shop, "other_supplier": other_supplier, "bought": bought}


def test_chosen_suggestions_become_one_draft_purchase_order_per_supplier_and_warehouse(two_suggestions):
    buyer = staff("Buyer")
    chosen = list(ReplenishmentSuggestion.objects.filter(product__in=two_suggestions["bought"]))
    assert len(chosen) == 3

    created = services.order_suggestions([s.pk for s in chosen], actor=buyer)

    assert len(created) == 2
    by_supplier = {po.supplier_id: po for po in PurchaseOrder.objects.all()}
    assert set(by_supplier) == {two_suggestions["supplier"].pk, two_suggestions["other_supplier"].pk}
    first = by_supplier[two_suggestions["supplier"].pk]
    assert first.status == PurchaseOrder.Status.DRAFT
    assert first.warehouse == two_suggestions["first"]
    assert {(line.product_id, line.quantity) for line in first.lines.all()} == {
        (s.product_id, s.quantity) for s in chosen if s.supplier_id == two_suggestions["supplier"].pk
    }
    assert not ReplenishmentSuggestion.objects.filter(pk__in=[s.pk for s in chosen]).exists()

    run()
    assert not ReplenishmentSuggestion.objects.filter(product__in=two_suggestions["bought"]).exists()


def test_suggestions_of_an_earlier_run_are_refused_whole(two_suggestions):
    buyer = staff("Buyer")
    stale = [s.pk for s in ReplenishmentSuggestion.objects.all()]
    run()

    with pytest.raises(ValidationError, match="changed since"):
        services.order_suggestions(stale, actor=buyer)
    assert not PurchaseOrder.objects.exists()


def test_a_role_without_replenishment_may_not_order(two_suggestions):
    with pytest.raises(PermissionDenied):
        services.order_suggestions(
            [s.pk for s in ReplenishmentSuggestion.objects.all()], actor=staff("Warehouse operator")
        )


def test_a_transfer_suggestion_becomes_a_draft_transfer(shop):
    product = ProductFactory()
    SupplierProductFactory(supplier=shop["supplier"], product=product, preferred=True)
    stock(product, shop["first"], 10)
    stock(product, shop["second"], 200)
    for days_ago in range(10):
        sold(product, 1, days_ago)
    run()
    row = suggestion(product, shop["first"])

    with pytest.raises(ValidationError, match="not a purchase"):
        services.order_suggestions([row.pk], actor=staff("Buyer"))
    (transfer,) = services.transfer_suggestions([row.pk], actor=staff("Buyer"))

    assert (transfer.status, transfer.source, transfer.destination) == (
        Transfer.Status.DRAFT,
        shop["second"],
        shop["first"],
    )
    assert [(line.product_id, line.quantity) for line in transfer.lines.all()] == [(product.pk, 4)]
    run()
    assert not ReplenishmentSuggestion.objects.filter(product=product, warehouse=shop["first"]).exists()
