"""Two-step sign-in in a real browser, in English and Chinese (docs/architecture.md, "Sign-in and
security"): a manager who must use it is sent to set up an authenticator app, reads the key off the
page (the test computes the app's code from it, as the app would), turns it on, and from then on
signs in with a code."""

import base64

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.factories import staff
from tests.test_browser_console import WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(secret, steps_ahead=0):
    """What an authenticator app shows for a key typed in from the page."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, drift=steps_ahead):06d}"


def submit_sign_in(page, username, code=""):
    page.goto("/admin/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("pw")
    page.locator("#id_otp_token").fill(code)
    page.locator("#login-form [type=submit]").click()


@pytest.mark.parametrize(("locale", "language"), [("en-US", "en"), ("zh-CN", "zh-hans")])
def test_a_manager_sets_up_an_authenticator_app_and_then_signs_in_with_its_code(
    browser, live_server, settings, locale, language
):
    settings.OTP_REQUIRED = True
    # django-otp waits a second after a wrong code before it checks another; not in this test.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    manager = staff("Manager", username="mona")
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    submit_sign_in(page, manager.username)
    expect(page).to_have_url(f"{live_server.url}/admin/two-factor/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".oc-qr svg")).to_be_visible()
    page.goto("/admin/orders/order/")
    expect(page).to_have_url(f"{live_server.url}/admin/two-factor/")

    secret = page.locator("[data-secret]").inner_text()
    page.locator("#id_token").fill("000000" if code_for(secret) != "000000" else "111111")
    page.locator("#content-main form [type=submit]").click()
    expect(page.locator(".errorlist")).to_be_visible()
    page.locator("#id_token").fill(code_for(secret))
    page.locator("#content-main form [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.locator("ul.messagelist .success")).to_be_visible()
    page.goto("/admin/orders/order/")
    expect(page).to_have_url(f"{live_server.url}/admin/orders/order/")

    page.locator("#logout-form [type=submit]").click()
    submit_sign_in(page, manager.username)
    expect(page.locator(".errornote").first).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/admin/login/")
    # The code of the next 30-second step: the one used to turn the app on is not taken twice.
    submit_sign_in(page, manager.username, code_for(secret, steps_ahead=1))
    expect(page.locator("#user-tools")).to_contain_text(manager.username)
    page.goto("/admin/orders/order/")
    expect(page).to_have_url(f"{live_server.url}/admin/orders/order/")
    assert errors == []
    context.close()
