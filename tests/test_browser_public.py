"""The customers' pages in a real browser, which sends an Origin header with each form (the test
client sends none): tracking an order by its number and phone digits, and rating it by the link
sent after delivery, both submitted the way a customer's phone does."""

import pytest
from playwright.sync_api import expect

from aftersales.models import Feedback
from aftersales.services.feedback import feedback_token
from tests.factories import ProductFactory, WarehouseFactory, advance, place, stock
from tests.test_browser_console import WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"


@pytest.fixture
def delivered():
    product = ProductFactory(name="Ceramic teapot")
    stock(product, WarehouseFactory(), 5)
    return advance(place(lines=[(product, 1)], phone=PHONE), "delivered")


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    refused = []
    page.on("response", lambda response: response.status == 403 and refused.append(response.url))
    yield page, refused
    context.close()


def test_a_customer_tracks_an_order_from_the_form(phone_page, delivered):
    page, refused = phone_page
    page.goto("/track/")
    page.get_by_label("Order number").fill(delivered.number)
    page.get_by_label("Last four digits of the phone number").fill(PHONE[-4:])
    page.get_by_role("button", name="Track").click()

    expect(page.locator("body")).to_contain_text(delivered.number)
    expect(page.locator("body")).to_contain_text("Delivered")
    assert refused == []


def test_a_customer_rates_an_order_from_the_link_in_the_delivered_message(phone_page, delivered):
    page, refused = phone_page
    page.goto(f"/feedback/{feedback_token(delivered)}/")
    page.locator("label", has_text="4 stars").click()
    page.get_by_label("Anything you would like to tell us?").fill("Arrived well packed.")
    page.get_by_role("button", name="Send my rating").click()

    expect(page.locator("body")).to_contain_text("Thank you! Your rating helps us do better.")
    assert refused == []
    given = Feedback.objects.get(order=delivered)
    assert (given.rating, given.comment, given.ticket) == (4, "Arrived well packed.", None)
