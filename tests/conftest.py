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


def _missing(marker_name):
    if marker_name == "postgres" and connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/ordercycle"
    if marker_name == "browser" and not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


@pytest.fixture(autouse=True)
def _needs(request):
    for marker_name in ("postgres", "browser"):
        if request.node.get_closest_marker(marker_name) is None:
            continue
        missing = _missing(marker_name)
        if missing and IN_CI:
            pytest.fail(f"CI must run this test but cannot: {missing}", pytrace=False)
        if missing:
            pytest.skip(missing)
