"""A customer's requests about their personal data in headless Chromium, in both languages
(docs/architecture.md, "Personal data"): a manager downloads the workbook of everything held about
a customer, is refused erasing one whose order is still open, erases one whose orders are finished,
and finds both in the access log."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from core.models import PersonalDataAccess
from orders.models import Customer
from tests.factories import ProductFactory, WarehouseFactory, advance, place, staff, stock

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 15_000


def signed_in_page(browser, live_server, locale, user):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems = []
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    page.click("#login-form [type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(user.username)
    return context, page, problems


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_manager_hands_out_and_erases_a_customers_data_from_the_customer_page(browser, live_server, locale):
    product = ProductFactory(unit_price=Decimal("30.00"))
    stock(product, WarehouseFactory(), 20)
    finished = advance(place(lines=[(product, 1)], phone="13700001001", address="莫干山路 1 号"), "completed")
    still_open = place(lines=[(product, 1)], phone="13700001002", address="莫干山路 2 号")
    manager = staff("Manager", username=f"mia_{locale}")
    context, page, problems = signed_in_page(browser, live_server, locale, manager)

    page.goto(f"/admin/orders/customer/{finished.customer_id}/change/")
    with page.expect_download() as download:
        page.click("#customer-data")
    workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(workbook.sheetnames) >= 8

    page.goto(f"/admin/orders/customer/{still_open.customer_id}/change/")
    page.click("#customer-erase")
    expect(page.locator("#erase-refused")).to_contain_text(still_open.number)
    page.click("#erase-confirm")
    expect(page.locator("ul.messagelist")).to_contain_text(still_open.number)
    assert Customer.objects.get(pk=still_open.customer_id).anonymised_at is None

    page.goto(f"/admin/orders/customer/{finished.customer_id}/change/")
    page.click("#customer-erase")
    page.click("#erase-confirm")
    expect(page.locator("ul.messagelist .success")).to_be_visible()
    expect(page.locator("#customer-erase")).to_have_count(0)
    assert Customer.objects.get(pk=finished.customer_id).name == ""

    page.goto(f"/admin/core/personaldataaccess/?customer_id={finished.customer_id}")
    expect(page.locator("#result_list tbody tr")).to_have_count(
        PersonalDataAccess.objects.filter(customer_id=finished.customer_id).count()
    )
    context.close()

    actions = set(PersonalDataAccess.objects.filter(actor=manager).values_list("action", flat=True))
    assert {"viewed", "subject_access", "erasure_refused", "erased"} <= actions
    assert problems == []
