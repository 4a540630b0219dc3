"""OrderCycle settings: everything that differs between machines comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or ("dev-only-insecure-key-set-SECRET_KEY-in-production" if DEBUG else None)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework",
    "core",
    "inventory",
    "orders",
    "logistics",
    "aftersales",
    "analytics",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several console requests and the dev server's threads share one file: wait for the lock
    # instead of failing, and take the write lock up front so SELECT ... then UPDATE cannot deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_URL = "admin:login"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@ordercycle.local")
# A notification's row stays locked while its message is handed to the mail server.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

# The merchant's name on packing slips and pick lists.
SHOP_NAME = os.environ.get("SHOP_NAME", "OrderCycle")
# The currency an order carries when its channel does not say.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "CNY")
# Phone numbers without a country prefix are read as numbers of this region.
DEFAULT_PHONE_REGION = os.environ.get("DEFAULT_PHONE_REGION", "CN")

# How customers are told about their orders. SMS_BACKEND is a dotted path to a class with
# `send_messages(messages)`; the default writes each text to the log instead of sending it.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "orders.notifications.sms.LogSMSBackend")
# Customers whose order names no language are written to in this one.
CUSTOMER_LANGUAGE = os.environ.get("CUSTOMER_LANGUAGE", "zh-hans")
# A notification that fails is tried again this many times in all, waiting longer each time.
NOTIFICATION_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATION_MAX_ATTEMPTS", "4"))
# The address customers use for the public tracking page and feedback links.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# A delivered order without an open return or complaint is completed after this many days.
ACCEPTANCE_WINDOW_DAYS = int(os.environ.get("ACCEPTANCE_WINDOW_DAYS", "7"))
# Completed and cancelled orders finished longer ago than this move to the archive
# (`manage.py archive_orders`, docs/architecture.md, "Archive"), this many orders per transaction.
ARCHIVE_AFTER_DAYS = int(os.environ.get("ARCHIVE_AFTER_DAYS", "548"))
ARCHIVE_BATCH_SIZE = int(os.environ.get("ARCHIVE_BATCH_SIZE", "500"))
# A customer may ask to return goods for this many days after delivery; a manager may accept a
# later request, which the return then shows.
RETURN_WINDOW_DAYS = int(os.environ.get("RETURN_WINDOW_DAYS", "7"))
# Hours within which a complaint ticket must be answered, by severity.
TICKET_RESPONSE_HOURS = {
    "urgent": int(os.environ.get("TICKET_RESPONSE_HOURS_URGENT", "4")),
    "high": int(os.environ.get("TICKET_RESPONSE_HOURS_HIGH", "24")),
    "normal": int(os.environ.get("TICKET_RESPONSE_HOURS_NORMAL", "72")),
}
# The feedback link sent after delivery works for this many days.
FEEDBACK_LINK_MAX_AGE_DAYS = int(os.environ.get("FEEDBACK_LINK_MAX_AGE_DAYS", "30"))
# A rating at or below this opens a complaint ticket by itself.
FEEDBACK_TICKET_AT_OR_BELOW = 2

# Background work: `manage.py db_worker` runs what is queued in the database. TASKS_BACKEND=immediate
# runs each task at once in the request (tests do this).
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if os.environ.get("TASKS_BACKEND") == "immediate"
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

# Shared by every app server, so the API's per-channel rate limit holds across them
# (`manage.py createcachetable` makes the table; dev.py run and the tests do it).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ordercycle_cache"}}
# Requests each channel may make to the API per period (DRF rate format).
API_CHANNEL_RATE = os.environ.get("API_CHANNEL_RATE", "600/minute")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "orders.api.problems.problem_details_handler",
    "DEFAULT_THROTTLE_RATES": {"channel": API_CHANNEL_RATE},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OrderCycle channel API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Order imports with more rows than this, and exports above EXPORT_BACKGROUND_ABOVE_ROWS, run in the worker.
ORDER_IMPORT_BACKGROUND_ROWS = int(os.environ.get("ORDER_IMPORT_BACKGROUND_ROWS", "1000"))
EXPORT_BACKGROUND_ABOVE_ROWS = int(os.environ.get("EXPORT_BACKGROUND_ABOVE_ROWS", "5000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # python-barcode announces at import that it cannot draw PNGs; labels use its SVG output.
    "loggers": {"pyBarcode": {"level": "WARNING"}},
}
