"""Intercepting a parcel and receiving it back in a real browser, in English and in Chinese
(docs/architecture.md, "Interception and parcels that come back"): a coordinator asks the carrier
to intercept a shipped parcel from its page and records that it was intercepted, with the fee; an
operator scans it at the page for parcels coming back and books one unit into stock and one into
quarantine, which closes the order as returned."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockLevel
from logistics.models import Interception, Shipment
from orders.models import Order, Refund
from tests.factories import ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_browser_jobs import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# Words the console already says in each language on these pages.
WORDS = {"en": ("Tracking number", "Order"), "zh-hans": ("运单号", "订单")}


@pytest.mark.parametrize("language", WORDS)
def test_a_coordinator_intercepts_a_parcel_and_the_warehouse_receives_it_back(browser, live_server, language):
    kettle = ProductFactory(sku="KETTLE", unit_price=Decimal("25.00"))
    stock(kettle, WarehouseFactory(code="WH1"), 10)
    order = advance(place_apart(lines=[(kettle, 2)], payment_method="card", paid_amount="50.00"), "shipped")
    parcel = order.shipments.get()
    number_word, order_word = WORDS[language]

    page, problems = signed_in_page(browser, live_server, staff("Logistics coordinator"), language)
    page.goto(f"/admin/logistics/shipment/{parcel.pk}/change/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("[data-request-interception]").click()
    page.locator("select[name=reason]").select_option("cancelled")
    page.locator("input[name=note]").fill("Customer cancelled by phone")
    page.locator("input[type=submit]").click()

    expect(page.locator("[data-interception-status='requested']")).to_be_visible()
    expect(page.locator(".oc-facts")).to_contain_text(order_word)
    page.locator("[data-interception-outcome]").click()
    page.locator("input[name=outcome][value=intercepted]").check()
    page.locator("input[name=fee]").fill("8.50")
    page.locator("input[type=submit]").click()
    expect(page.locator("[data-interception-status='intercepted']")).to_be_visible()
    assert Interception.objects.get().fee == Decimal("8.50")
    assert problems == []

    page, problems = signed_in_page(browser, live_server, staff("Warehouse operator"), language)
    page.goto("/admin/logistics/shipment/coming-back/")
    expect(page.locator("label[for=id_tracking_number]")).to_contain_text(number_word)
    expect(page.locator("[data-coming-back-list]")).to_contain_text(parcel.tracking_number)
    expect(page.locator("[data-coming-back-scan]")).to_be_focused()
    page.keyboard.type(parcel.tracking_number)
    page.keyboard.press("Enter")

    line = page.locator("[data-receive-line='KETTLE']")
    expect(line).to_be_visible()
    line.locator("input[name^=sellable]").fill("1")
    line.locator("input[name^=quarantined]").fill("1")
    page.locator("[data-receive-submit]").click()

    expect(page.locator(".messagelist .success")).to_contain_text(order.number)
    expect(page.locator("[data-coming-back-list]")).to_have_count(0)
    level = StockLevel.objects.get(product=kettle)
    assert (level.on_hand, level.quarantined) == (9, 1)
    assert Shipment.objects.get(pk=parcel.pk).status == Shipment.Status.RECEIVED_BACK
    assert Order.objects.get(pk=order.pk).status == Order.Status.RETURNED
    assert Refund.objects.get(order=order).amount == Decimal("50.00")
    assert problems == []
