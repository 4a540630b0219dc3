"""Production settings: `check --deploy` is clean with DEBUG off and only the required variables set,
HTTPS settings come from the environment with safe defaults, the API schema validates without a
warning, and a missing SECRET_KEY is one clear line. Each runs manage.py in a fresh process, as a
server would start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, tmp_path, **env):
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-production-key-with-enough-length-and-variety-9f8e7d6c5b4a3210zyxwvu",
            "ALLOWED_HOSTS": "shop.example",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    environment.update(env)
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def setting_values(tmp_path, *names, **env):
    code = "from django.conf import settings; " + "; ".join(f"print(repr(settings.{name}))" for name in names)
    result = manage("shell", "--no-imports", "-c", code, tmp_path=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_check_deploy_with_production_settings_reports_no_issues(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_https_settings_are_on_by_default_when_debug_is_off(tmp_path):
    values = setting_values(
        tmp_path,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
    )

    assert values == ["True", "31536000", "True", "True", "True", "True", "None"]


def test_https_settings_come_from_the_environment(tmp_path):
    values = setting_values(
        tmp_path,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_PRELOAD="off",
        SESSION_COOKIE_SECURE="0",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )

    assert values == ["False", "3600", "False", "False", "('HTTP_X_FORWARDED_PROTO', 'https')"]


def test_a_missing_secret_key_with_debug_off_is_one_clear_line(tmp_path):
    result = manage("check", tmp_path=tmp_path, SECRET_KEY=None)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off (a long random string, kept secret)."
    ]
    assert "Traceback" not in result.stderr


def test_a_proxy_ssl_header_without_its_value_is_one_clear_line(tmp_path):
    result = manage("check", tmp_path=tmp_path, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "SECURE_PROXY_SSL_HEADER must be HEADER,value" in result.stderr


@pytest.mark.parametrize("debug", ["true", "false"])
def test_the_api_schema_validates_without_a_warning(tmp_path, debug):
    result = manage(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        tmp_path=tmp_path,
        DEBUG=debug,
    )

    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr
