"""The Content-Security-Policy (docs/architecture.md, "Sign-in and security") breaks no page: a real
browser visits the console's main pages (the dashboard with its charts, lists, an order, scan to
pack, printed sheets, admin widgets, the sign-in pages, the API docs) and the customers' pages, in
English and Chinese, and the test fails on any violation the browser reports or any script error."""

import pytest
from django.urls import reverse

from aftersales.services.feedback import feedback_token
from tests.factories import ProductFactory, WarehouseFactory, advance, pick_all, place, staff, stock
from tests.test_browser_console import WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"
# Reported from inside the page, in case the browser's own console message is not seen.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI} in ${event.sourceFile}`);
});
"""


class Browsing:
    def __init__(self, browser, base_url, locale):
        self.context = browser.new_context(base_url=base_url, locale=locale, viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(WAIT_MS)
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.problems = []
        self.page.on("console", self.note_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"{self.page.url}: script error: {error}"))

    def note_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "CSP violation" in text:
            self.problems.append(f"{self.page.url}: {text}")

    def visit(self, url):
        response = self.page.goto(url, wait_until="networkidle")
        assert response.status < 400, f"{url} answered {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, f"{url}: {policy!r}"
        return response

    def log_in(self, username):
        self.visit("/admin/login/")
        self.page.locator("#id_username").fill(username)
        self.page.locator("#id_password").fill("pw")
        self.page.locator("#login-form [type=submit]").click()
        self.page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_console_and_public_pages_keep_the_content_security_policy(browser, live_server, dashboard_week, locale):
    product = ProductFactory(name="Ceramic teapot", barcode="6901234500017")
    stock(product, WarehouseFactory(name="Hangzhou East"), 10)
    to_pack = place(lines=[(product, 1)])
    pick_all(to_pack)
    delivered = advance(
        place(lines=[(product, 1)], phone=PHONE, payment_method="card", paid_amount="25.00"), "delivered"
    )
    parcel = delivered.shipments.get()
    admin = staff(None, username="root")
    level = product.stock_levels.get()
    browsing = Browsing(browser, live_server.url, locale)
    page = browsing.page

    browsing.visit("/track/")
    page.locator("#id_order").fill(delivered.number)
    page.locator("#id_phone_last_four").fill(PHONE[-4:])
    page.locator("form.track-form [type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert delivered.number in page.content()
    browsing.visit(f"/feedback/{feedback_token(delivered)}/")
    browsing.visit("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()

    browsing.log_in(admin.username)
    for url in [
        "/admin/?range=custom&start=2025-03-08&end=2025-03-14",
        "/admin/orders/order/",
        f"/admin/orders/order/{delivered.pk}/change/",
        f"/admin/orders/order/{delivered.pk}/statement/",
        "/admin/orders/order/import/",
        "/admin/logistics/shipment/pack/",
        f"/admin/logistics/shipment/pack/{to_pack.shipments.get().pk}/",
        f"/admin/logistics/shipment/{parcel.pk}/packing-slip/",
        f"/admin/logistics/shipment/{parcel.pk}/label/",
        f"/admin/inventory/stocklevel/{level.pk}/adjust/",
        f"/admin/auth/user/{admin.pk}/change/",
        "/admin/auth/group/add/",
        "/admin/axes/accessattempt/",
        "/admin/axes/accesslog/",
        "/admin/otp_totp/totpdevice/",
        reverse("two-factor"),
    ]:
        browsing.visit(url)

    assert browsing.problems == []
    browsing.context.close()
