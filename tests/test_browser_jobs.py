"""Retry and cancel on a job page in a real browser, in English and in Chinese (docs/architecture.md,
"Jobs"): an operator retries a failed order import into a fresh preview, and cancels a queued one."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from core import jobs
from core.models import Job
from orders import importers
from orders.models import Order
from tests.factories import ChannelFactory, ProductFactory, WarehouseFactory, staff, stock
from tests.test_import_orders import row, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAIT_MS = 10_000
expect.set_options(timeout=WAIT_MS)
# The browser's language, and words the console already says in it on every import page.
LANGUAGES = {"en": ("en-US", "Started by"), "zh-hans": ("zh-CN", "发起人")}


@pytest.fixture
def checked_file():
    ChannelFactory(code="web", name="Web shop")
    stock(ProductFactory(sku="SOCKS", unit_price=Decimal("10.00")), WarehouseFactory(), 100)
    clerk = staff("Customer service", username="carol")
    content = xlsx([row(f"B-{n}", "SOCKS", 1, phone=f"139 0000 {n:04d}") for n in range(3)])
    job = importers.start_order_import(file_name="orders.xlsx", content=content, actor=clerk)
    return importers.check_order_import(job.pk), clerk


def signed_in_page(browser, live_server, user, language):
    """A tab signed in as `user` whose browser asks for `language`; failed requests and script
    errors are collected so a page that looks right but lost its assets still fails."""
    locale, _words = LANGUAGES[language]
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url, locale=locale)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    problems = []
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}")
    )
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return page, problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_operator_retries_a_failed_import_and_cancels_a_queued_one(browser, live_server, checked_file, language):
    job, clerk = checked_file
    jobs.fail(job, "The worker stopped.")
    page, problems = signed_in_page(browser, live_server, clerk, language)
    _locale, words = LANGUAGES[language]

    page.goto(f"/admin/orders/order/import/{job.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".oc-facts")).to_contain_text(words)
    expect(page.locator("[data-job-cancel]")).to_have_count(0)
    page.locator("[data-job-retry]").click()

    expect(page.locator(".oc-import-confirm button[type=submit]")).to_be_visible()
    job.refresh_from_db()
    assert (job.status, job.summary["to_create"], job.errors) == (Job.Status.PREVIEWED, 3, [])

    queued = importers.confirm_order_import(job.pk, actor=clerk)
    page.goto(f"/admin/orders/order/import/{queued.pk}/")
    expect(page.locator("[data-job-retry]")).to_have_count(0)
    page.locator("[data-job-cancel]").click()

    expect(page.locator(f".oc-badge.oc-job-{Job.Status.CANCELLED}")).to_be_visible()
    expect(page.locator("[data-job-retry]")).to_be_visible()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.cancelled_by == clerk
    assert Order.objects.count() == 0
    assert problems == []
