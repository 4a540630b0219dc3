"""OrderCycle settings: everything that differs between machines comes from the environment."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def refuse_to_start(message):
    """A setting a production server cannot do without: say so in one line (no traceback) and stop
    every command, worker and app server that loads these settings."""
    sys.stderr.write(f"ImproperlyConfigured: {message}\n")
    raise SystemExit(1)


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or ("dev-only-insecure-key-set-SECRET_KEY-in-production" if DEBUG else None)
if not SECRET_KEY:
    refuse_to_start("SECRET_KEY must be set when DEBUG is off (a long random string, kept secret).")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# HTTPS (README, "Running in production"): with DEBUG off every one of these is on unless the
# environment turns it off, so a production server that forgets them is safe rather than open.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Behind a proxy that ends TLS, the header it sets to say the request came over HTTPS, as
# "HEADER,value" (SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https). Only when the proxy always
# sets it: trusted otherwise, a client could claim HTTPS itself.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    header, _comma, value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
    if not value.strip():
        refuse_to_start("SECURE_PROXY_SSL_HEADER must be HEADER,value, such as HTTP_X_FORWARDED_PROTO,https.")
    SECURE_PROXY_SSL_HEADER = (header.strip(), value.strip())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Operator classes in index expressions (the order search's indexes); harmless on SQLite.
    "django.contrib.postgres",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    # Before django_tasks_db, so that core's `db_worker` (which sweeps first) is the one run.
    "core",
    "django_tasks",
    "django_tasks_db",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework",
    "inventory",
    "orders",
    "logistics",
    "aftersales",
    "incidents",
    "planning",
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
    "django_otp.middleware.OTPMiddleware",
    "core.signin.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "csp.context_processors.nonce",
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
    # The merge queue's covering index (INCLUDE columns) only spares PostgreSQL heap reads; SQLite
    # builds the same index without them, which changes nothing that works.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

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

# Sign-in and security (docs/architecture.md, "Sign-in and security").
# django-axes counts failed console sign-ins and locks out a username, and separately an address,
# after AXES_FAILURE_LIMIT failures until AXES_COOLOFF_MINUTES pass or a manager unlocks it.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# The client's address for sign-in lockouts and tracking limits is REMOTE_ADDR; behind a proxy,
# the request header the proxy sets to the client's address (CLIENT_IP_HEADER=HTTP_X_REAL_IP).
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")
AXES_CLIENT_IP_CALLABLE = "core.clients.client_address"
# Two-step sign-in (django-otp, TOTP): anyone may set up an authenticator app; with OTP_REQUIRED on
# (the default when DEBUG is off) superusers and the roles in OTP_REQUIRED_FOR_ROLES must.
OTP_REQUIRED = env_bool("OTP_REQUIRED", not DEBUG)
OTP_REQUIRED_FOR_ROLES = [
    role.strip() for role in os.environ.get("OTP_REQUIRED_FOR_ROLES", "Manager,Finance").split(",") if role.strip()
]
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "OrderCycle")
# Content-Security-Policy (django-csp): the app's own scripts, styles and images only; a script or
# style written into a page needs the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    }
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@ordercycle.local")
# A notification's row stays locked while its message is handed to the mail server.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

# The merchant's name on packing slips and pick lists.
SHOP_NAME = os.environ.get("SHOP_NAME", "OrderCycle")
# The currency an order carries when its channel does not say.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "CNY")
# Intake refuses an order dated more than this many days after now (a channel's clock or time zone
# may be ahead) or more than this many days before it.
ORDER_DATE_MAX_DAYS_AHEAD = int(os.environ.get("ORDER_DATE_MAX_DAYS_AHEAD", "1"))
ORDER_DATE_MAX_DAYS_BACK = int(os.environ.get("ORDER_DATE_MAX_DAYS_BACK", "730"))
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

# Background jobs (docs/architecture.md, "Jobs"): a running job writes a sign of life at least every
# JOB_HEARTBEAT_SECONDS; `manage.py sweep_jobs` takes one silent for JOB_STALE_AFTER_SECONDS for a
# stopped worker's and queues it again, up to JOB_MAX_ATTEMPTS starts in all, or fails it.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "15"))
JOB_STALE_AFTER_SECONDS = int(os.environ.get("JOB_STALE_AFTER_SECONDS", "120"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))

# Shared by every app server. With REDIS_URL (redis://host:6379/0) the cache is Redis and the API's
# per-channel rate limit counts there; without it the cache is a database table (`manage.py
# createcachetable` makes it; dev.py run and the tests do it) and the limit counts in core's
# RateCount table (docs/architecture.md, "The channel API").
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ordercycle_cache"}
    )
}
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
    "PREPROCESSING_HOOKS": ["config.schema.only_the_api"],
    # Several models have a "status"; named here, each keeps its own enum in the schema (left to
    # itself, drf-spectacular gave payments the orders' payment statuses).
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "orders.models.Order.PaymentStatus",
        "PaymentMethodEnum": "orders.models.PaymentMethod",
        "PaymentRecordStatusEnum": "orders.models.Payment.Status",
        "ShipmentStatusEnum": "logistics.models.Shipment.Status",
        "TrackingEventStatusEnum": "logistics.models.TrackingEvent.Status",
        "ReturnStatusEnum": "aftersales.models.ReturnRequest.Status",
        "ReturnReasonEnum": "aftersales.models.ReturnReason",
        "OutcomeEnum": "aftersales.models.Outcome",
        "RefundStatusEnum": "orders.models.Refund.Status",
    },
}

# Order imports with more rows than this, other imports above IMPORT_BACKGROUND_ROWS and exports
# above EXPORT_BACKGROUND_ABOVE_ROWS run in the worker.
ORDER_IMPORT_BACKGROUND_ROWS = int(os.environ.get("ORDER_IMPORT_BACKGROUND_ROWS", "1000"))
IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", "2000"))
EXPORT_BACKGROUND_ABOVE_ROWS = int(os.environ.get("EXPORT_BACKGROUND_ABOVE_ROWS", "5000"))

# Customers whose last order finished longer ago than this many days have their personal data
# anonymised by `manage.py anonymise_personal_data` (docs/architecture.md, "Personal data").
PERSONAL_DATA_RETENTION_DAYS = int(os.environ.get("PERSONAL_DATA_RETENTION_DAYS", "1095"))
# The files of imports and exports (uploaded orders, exported names and addresses) are emptied by the
# same command this many days after their job finished (docs/architecture.md, "Personal data").
JOB_FILES_KEPT_DAYS = int(os.environ.get("JOB_FILES_KEPT_DAYS", "30"))

# Documents sent with claims against carriers (docs/architecture.md, "Lost parcels"): kept in a
# folder with no web address, outside the static files, and served only through the claim's page.
CLAIM_DOCUMENTS_ROOT = os.environ.get("CLAIM_DOCUMENTS_ROOT", str(BASE_DIR / "private" / "claim_documents"))
CLAIM_DOCUMENT_MAX_BYTES = int(os.environ.get("CLAIM_DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # python-barcode announces at import that it cannot draw PNGs; labels use its SVG output.
    "loggers": {"pyBarcode": {"level": "WARNING"}},
}
