"""The replenishment page in a real browser, in English and in Chinese: a buyer reaches it from the
front page's run-out alert, chooses a suggestion and makes a draft purchase order."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import SYSTEM
from inventory.models import PurchaseOrder
from planning import services
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
    place_apart,
    staff,
    stock,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 15_000


@pytest.mark.parametrize(("locale", "language"), [("en-US", "en"), ("zh-CN", "zh-hans")])
def test_a_buyer_turns_a_suggestion_into_a_draft_purchase_order(browser, live_server, locale, language):
    buyer = staff("Buyer", username=f"bo_{language}")
    warehouse = WarehouseFactory(priority=1, code="EAST")
    supplier = SupplierFactory(code="ACME", name="Acme Trading", lead_time_days=9)
    kettle = ProductFactory(sku="KETTLE", name="Kettle")
    SupplierProductFactory(supplier=supplier, product=kettle, preferred=True, pack_size=6)
    stock(kettle, warehouse, 3)
    for days_ago in range(3):
        place_apart(lines=[(kettle, 1)], placed_at=timezone.now() - timedelta(days=days_ago, hours=1))
    services.plan_replenishment(actor=SYSTEM)

    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems = []
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.goto("/admin/login/")
    page.fill("#id_username", buyer.username)
    page.fill("#id_password", "pw")
    page.click("#login-form [type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(buyer.username)
    assert page.locator("html").get_attribute("lang") == language

    page.click("#run-out-alert a")
    expect(page.locator(".oc-supplier-group")).to_have_count(1)
    expect(page.locator(".oc-supplier-group h2")).to_contain_text("Acme Trading")
    expect(page.locator(".oc-supplier-group tbody tr")).to_contain_text("KETTLE")
    if language == "en":
        expect(page.locator("#content h1")).to_have_text("Replenishment")
    else:
        expect(page.locator(".breadcrumbs")).to_contain_text("首页")

    page.check(".oc-supplier-group input[name=suggestion]")
    page.click("#oc-order-chosen")
    expect(page.locator("ul.messagelist")).to_contain_text("PO")
    expect(page.locator(".oc-supplier-group")).to_have_count(0)
    context.close()

    purchase_order = PurchaseOrder.objects.get()
    assert (purchase_order.supplier, purchase_order.warehouse, purchase_order.status) == (
        supplier,
        warehouse,
        PurchaseOrder.Status.DRAFT,
    )
    assert purchase_order.created_by == buyer
    assert problems == []
