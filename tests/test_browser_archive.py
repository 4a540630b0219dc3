"""The Archived orders view in a real browser, in both languages: a person searches the archive by
a channel order id, opens the order and finds it ready to print (docs/architecture.md, "Archive")."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from core.actors import SYSTEM
from orders import services as orders
from orders.models import Order
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_staff_find_an_archived_order_and_open_its_printable_page_in_the_browser(browser, live_server, language):
    product = ProductFactory()
    stock(product, WarehouseFactory(), 5)
    order = advance(place(lines=[(product, 1)], channel_order_id="SHOP-ARCHIVED-1"), "completed")
    Order.objects.filter(pk=order.pk).update(completed_at=timezone.now() - timedelta(days=600))
    assert orders.archive_finished_orders(actor=SYSTEM) == 1
    client = Client()
    client.force_login(staff("Customer service"))
    context = browser.new_context(base_url=live_server.url, locale="en-US" if language == "en" else "zh-CN")
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )
    page = context.new_page()
    problems = []
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    page.goto("/admin/orders/archivedorder/")
    page.locator("#searchbar").fill("SHOP-ARCHIVED-1")
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=order.number).click()

    expect(page.get_by_role("heading", name=order.number)).to_be_visible()
    expect(page.locator("[data-print]")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert problems == []
    context.close()
