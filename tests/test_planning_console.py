"""The replenishment page in the console: suggestions grouped by supplier, the warehouse filter,
recomputing, the action that makes draft purchase orders, and the run-out alert on the front page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from inventory.models import PurchaseOrder
from planning import services
from planning.models import ReplenishmentSuggestion
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

PAGE = "admin:planning_replenishmentsuggestion_changelist"


@pytest.fixture
def shop():
    first, second = WarehouseFactory(priority=1, code="EAST"), WarehouseFactory(priority=2, code="WEST")
    acme = SupplierFactory(code="ACME", name="Acme Trading", lead_time_days=9)
    bolt = SupplierFactory(code="BOLT", name="Bolt Parts", lead_time_days=4)
    products = {
        "kettle": ProductFactory(sku="KETTLE", name="Kettle"),
        "toaster": ProductFactory(sku="TOASTER", name="Toaster"),
        "lamp": ProductFactory(sku="LAMP", name="Lamp"),
    }
    SupplierProductFactory(supplier=acme, product=products["kettle"], preferred=True, pack_size=6)
    SupplierProductFactory(supplier=bolt, product=products["toaster"], preferred=True)
    stock(products["kettle"], first, 3)
    stock(products["toaster"], first, 3)
    stock(products["lamp"], second, 3)
    for product in products.values():
        for days_ago in range(3):
            place_apart(lines=[(product, 1)], placed_at=timezone.now() - timedelta(days=days_ago, hours=1))
    services.plan_replenishment(actor=SYSTEM)
    return {"first": first, "second": second, "acme": acme, "bolt": bolt, **products}


def test_a_buyer_sees_the_suggestions_grouped_by_supplier_with_their_figures(client, shop):
    client.force_login(staff("Buyer"))

    page = client.get(reverse(PAGE))

    assert page.status_code == 200
    groups = page.context["groups"]
    assert [group.supplier.code if group.supplier else None for group in groups] == ["ACME", "BOLT", None]
    kettle = groups[0].rows[0]
    assert (kettle.product, kettle.warehouse, kettle.on_hand) == (shop["kettle"], shop["first"], 3)
    assert kettle.quantity % 6 == 0
    html = page.content.decode()
    assert "Acme Trading" in html and "No supplier" in html and "Create draft purchase orders" in html


def test_the_warehouse_filter_keeps_that_warehouses_suggestions(client, shop):
    client.force_login(staff("Buyer"))

    page = client.get(reverse(PAGE), {"warehouse": shop["second"].pk})

    rows = [row for group in page.context["groups"] for row in group.rows]
    assert [row.product for row in rows] == [shop["lamp"]]


def test_the_chosen_suggestions_become_draft_purchase_orders_from_the_page(client, shop):
    client.force_login(staff("Buyer"))
    chosen = ReplenishmentSuggestion.objects.filter(product__in=[shop["kettle"], shop["toaster"]])

    answer = client.post(
        reverse("admin:planning_replenishmentsuggestion_act"),
        {"suggestion": [s.pk for s in chosen], "action": "order"},
        follow=True,
    )

    assert {po.supplier for po in PurchaseOrder.objects.all()} == {shop["acme"], shop["bolt"]}
    assert "Draft purchase orders made" in answer.content.decode()


def test_a_product_without_a_supplier_cannot_be_ordered_and_nothing_is_made(client, shop):
    client.force_login(staff("Buyer"))
    lamp = ReplenishmentSuggestion.objects.get(product=shop["lamp"])
    kettle = ReplenishmentSuggestion.objects.get(product=shop["kettle"])

    answer = client.post(
        reverse("admin:planning_replenishmentsuggestion_act"),
        {"suggestion": [lamp.pk, kettle.pk], "action": "order"},
        follow=True,
    )

    assert "LAMP: no supplier supplies it." in answer.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_recompute_now_runs_a_planning_run(client, shop):
    client.force_login(staff("Buyer"))
    ReplenishmentSuggestion.objects.all().delete()

    answer = client.post(reverse("admin:planning_replenishmentsuggestion_recompute"), follow=True)

    assert ReplenishmentSuggestion.objects.count() == 3
    assert "Recomputed: 3 suggestions" in answer.content.decode()


def test_roles_without_replenishment_do_not_see_the_page(client, shop):
    client.force_login(staff("Customer service"))

    assert client.get(reverse(PAGE)).status_code == 403
    assert client.post(reverse("admin:planning_replenishmentsuggestion_recompute")).status_code == 403


def test_the_front_page_tells_buyers_what_will_run_out_and_links_to_it(client, shop):
    client.force_login(staff("Buyer"))

    page = client.get(reverse("admin:index"))

    html = page.content.decode()
    assert 'id="run-out-alert"' in html
    assert "3 stocks will run out before a purchase could arrive" in html
    assert reverse(PAGE) + "?running_out=1" in html


def test_the_front_page_shows_no_run_out_alert_to_those_who_may_not_see_replenishment(client, shop):
    client.force_login(staff("Customer service"))

    assert 'id="run-out-alert"' not in client.get(reverse("admin:index")).content.decode()
