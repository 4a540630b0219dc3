"""The console in a real browser: staff log in and take a held order from review to shipped, by
clicking what they see. Set OC_SHOTS=1 to keep a screenshot of every page in /tmp/shots."""

import os
from itertools import count
from pathlib import Path

import pytest
from playwright.sync_api import expect

from inventory.selectors import ledger_mismatches
from logistics.models import Shipment
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, place, staff, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")
WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)


class Visit:
    """One person's browser tab on the live console; records every failed request and script
    error so a page that looks right but lost its styles or scripts still fails the test."""

    def __init__(self, browser, base_url):
        self.context = browser.new_context(base_url=base_url, locale="en-US", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.problems = []
        self.page.on("response", self.note_failed_response)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.shots = count(1)

    def note_failed_response(self, response):
        if response.status >= 400:
            self.problems.append(f"{response.status} {response.url}")

    def shot(self, name):
        if os.environ.get("OC_SHOTS") == "1":
            SHOTS.mkdir(exist_ok=True)
            self.page.screenshot(path=SHOTS / f"{next(self.shots):02d}-{name}.png", full_page=True)

    def log_in(self, user):
        page = self.page
        page.goto("/admin/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("pw")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#user-tools")).to_contain_text(user.username)

    def log_out(self):
        self.page.get_by_role("button", name="Log out").click()
        expect(self.page.get_by_role("heading", name="Logged out")).to_be_visible()

    def expect_message(self, text):
        expect(self.page.locator("ul.messagelist")).to_contain_text(text)

    def expect_status(self, label):
        expect(self.page.locator(".oc-order-title h1 .oc-badge")).to_have_text(label)


def test_staff_take_a_held_order_from_review_to_shipped_in_the_browser(browser, live_server):
    product = ProductFactory(name="Ceramic teapot")
    level = stock(product, WarehouseFactory(name="Hangzhou East"), 10, bin_location="B-07")
    carrier = CarrierFactory()
    held = place(
        lines=[(product, 3)], payment_method="card", paid_amount="10.00", phone="13900001234", address="文三路 7 号"
    )
    assert held.status == Order.Status.ON_HOLD
    reviewer = staff("Order reviewer", username="rita")
    operator = staff("Warehouse operator", username="otto")
    visit = Visit(browser, live_server.url)
    page = visit.page

    visit.log_in(reviewer)
    visit.shot("reviewer-home")
    page.get_by_role("link", name="Review queue").first.click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=held.number)
    expect(row).to_contain_text("Paid 10.00 but the order total is 75.00.")
    visit.shot("review-queue")
    row.get_by_role("button", name="Approve", exact=True).click()
    visit.expect_message(f"Order {held.number} is now Confirmed.")
    expect(page.get_by_role("row").filter(has_text=held.number)).to_have_count(0)
    visit.shot("review-queue-approved")
    visit.log_out()

    visit.log_in(operator)
    page.goto("/admin/orders/order/")
    page.get_by_role("link", name=held.number, exact=True).click()
    visit.expect_status("Confirmed")
    expect(page.locator(".oc-alert")).to_have_count(0)
    visit.shot("order-confirmed")

    order_url = page.url
    page.get_by_role("link", name="Create pick list").click()
    expect(page.get_by_role("radio", name=f"{level.warehouse.code} {level.warehouse.name}")).to_be_checked()
    visit.shot("pick-list-warehouse")
    page.get_by_role("button", name="Create and print pick list").click()
    expect(page.get_by_role("row").filter(has_text=product.sku)).to_contain_text("B-07")
    visit.shot("pick-list")
    page.goto(order_url)
    visit.expect_status("Picking")
    visit.shot("order-picking")

    page.locator("section.oc-card").filter(has=page.get_by_role("heading", name="Shipments")).get_by_role(
        "link", name="Pack", exact=True
    ).click()
    expect(page.get_by_role("heading", name=f"Packing order {held.number}")).to_be_visible()
    for _unit in range(3):
        page.get_by_label("Scan an item (barcode or SKU)").fill(product.barcode)
        page.get_by_label("Scan an item (barcode or SKU)").press("Enter")
    visit.shot("scan-to-pack-complete")
    page.get_by_label("Weight (kg)").fill("1.6")
    page.get_by_role("button", name="Close the parcel").click()
    expect(page.get_by_text(f"Order {held.number}: parcel packed.")).to_be_visible()
    page.goto(order_url)
    visit.expect_status("Packed")
    visit.shot("order-packed")

    page.get_by_role("link", name="Dispatch", exact=True).click()
    expect(page.get_by_role("heading", name=f"Dispatch order {held.number}")).to_be_visible()
    parcel = page.locator("section.dispatch-parcel").filter(
        has=page.get_by_role("heading", name=f"Parcel from {level.warehouse}")
    )
    visit.shot("dispatch-form")
    parcel.get_by_label("Carrier").select_option(label=carrier.name)
    parcel.get_by_label("Tracking number").fill("SF5550000000037")
    parcel.get_by_role("button", name="Hand over to carrier").click()

    visit.expect_message(f"Order {held.number}: parcel SF Express SF5550000000037 left {level.warehouse}.")
    visit.expect_status("Shipped")
    shipment_row = (
        page.locator("section.oc-card")
        .filter(has=page.get_by_role("heading", name="Shipments"))
        .get_by_role("row")
        .filter(has_text="SF5550000000037")
    )
    expect(shipment_row).to_contain_text("SF Express")
    expect(shipment_row.get_by_role("link", name="SF5550000000037")).to_have_attribute(
        "href", "https://www.sf-express.com/track?no=SF5550000000037"
    )
    timeline = page.locator(".oc-timeline-event")
    expect(timeline.locator(".oc-timeline-step")).to_have_text(
        [
            "Pending → Held for review",
            "Held for review → Confirmed",
            "Confirmed → Picking",
            "Picking → Packed",
            "Packed → Shipped",
        ]
    )
    expect(timeline.locator(".oc-timeline-actor")).to_have_text(["system", "rita", "otto", "otto", "otto"])
    visit.shot("order-shipped")
    visit.context.close()

    assert visit.problems == []
    held.refresh_from_db()
    level.refresh_from_db()
    assert held.status == Order.Status.SHIPPED
    assert (level.on_hand, level.reserved) == (7, 0)
    assert list(Shipment.objects.filter(order=held).values_list("tracking_number", "carrier__code")) == [
        ("SF5550000000037", "sf")
    ]
    assert list(ledger_mismatches()) == []
