"""Shared test setup. Tests that need PostgreSQL or Chromium are skipped with a reason on a
newcomer's machine, and fail in CI (CI=true) so a missing service can never pass silently."""

import os
import shutil

import pytest
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run inside the test, at once, so their effects can be checked.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _missing(marker_name):
    if marker_name == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ordercycle"
    if marker_name == "browser" and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if marker_name == "gettext" and not (shutil.which("xgettext") and shutil.which("msgmerge")):
        return "needs GNU gettext to extract messages (Debian: apt-get install gettext)"
    return None


@pytest.fixture(autouse=True)
def _default_language():
    """A request in Chinese leaves its language active in the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _needs(request):
    for marker_name in ("postgres", "browser", "gettext"):
        if request.node.get_closest_marker(marker_name) is None:
            continue
        missing = _missing(marker_name)
        if missing and IN_CI:
            pytest.fail(f"CI must run this test but cannot: {missing}", pytrace=False)
        if missing:
            pytest.skip(missing)


@pytest.fixture
def browser(_needs, monkeypatch):
    """Headless Chromium for `browser` tests, after `_needs` has skipped or failed them when it is
    missing. Playwright's sync API keeps an event loop running in this thread, so Django's guard
    against the ORM in async code would stop the test's own (synchronous) queries; and while it runs,
    asgiref files this thread's database connections apart from the usual ones, so they are closed
    here or they would outlive the test database."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
    finally:
        connections.close_all()
        playwright.stop()
