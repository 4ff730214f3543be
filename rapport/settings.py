"""Rapport settings, read from the environment.

Every value a deployment changes comes from an environment variable so the same code runs
in development, CI and production. See docs/configuration.md.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RAPPORT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE_WORDS


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("RAPPORT_DEBUG", False)
# The test suite runs with debug off, as production does, but needs no real secret.
RUNNING_TESTS = "pytest" in sys.modules

# A known development key is fine on a developer's laptop; with debug off we refuse to start
# without a real one, because a guessable key lets anyone forge sessions and signed links.
DEVELOPMENT_SECRET_KEY = "rapport-development-key-not-for-production"
SECRET_KEY = os.environ.get("RAPPORT_SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    if not (DEBUG or RUNNING_TESTS):
        raise ImproperlyConfigured(
            "RAPPORT_SECRET_KEY is missing or is the development default. Set it to a long random "
            "value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set "
            "RAPPORT_DEBUG=true for local development."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("RAPPORT_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("RAPPORT_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "csp",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "rapport.core",
    "rapport.people",
    "rapport.timeline",
    "rapport.sales",
    "rapport.leads",
    "rapport.assistant",
    "rapport.reports",
    "rapport.api",
    "rapport.web",
    "rapport.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rapport.core.middleware.UserTimeZoneMiddleware",
    # Axes must be last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "rapport.web.context.navigation",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'rapport.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", DEFAULT_SQLITE))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while the background worker writes; IMMEDIATE avoids
        # "database is locked" upgrades from read to write transactions.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("RAPPORT_TEST_SQLITE") or None
# Connections are kept between requests on SQLite too: opening one runs the PRAGMAs above and maps
# the file, which cost more CPU than a whole page-view batch (benchmarks/tracking.py: about 8 ms
# down to 3 ms per request).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("RAPPORT_CONN_MAX_AGE", "60"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- authentication and security -------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
# Sellers start their day from the agenda (the assistant app); Home stays one click away.
LOGIN_REDIRECT_URL = "today"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = int(os.environ.get("RAPPORT_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("RAPPORT_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": ["'none'"],
        "base-uri": [SELF],
        "frame-ancestors": ["'none'"],
        "form-action": [SELF],
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not RUNNING_TESTS:
    SECURE_SSL_REDIRECT = env_flag("RAPPORT_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("RAPPORT_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- e-mail ----------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("RAPPORT_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("RAPPORT_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("RAPPORT_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("RAPPORT_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_flag("RAPPORT_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("RAPPORT_EMAIL_FROM", "Rapport <rapport@localhost>")
# Where people reach Rapport, for links in e-mails sent by background work (no request to ask).
RAPPORT_BASE_URL = os.environ.get("RAPPORT_BASE_URL", "").strip().rstrip("/")
if DEBUG and "RAPPORT_EMAIL_HOST" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- background work -------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("RAPPORT_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# --- internationalisation, static files ------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RAPPORT_LOG_LEVEL", "WARNING")},
}

# --- Rapport ---------------------------------------------------------------------------------
# Which records each role sees: "own" (records they own), "team" (their team's) or "all".
RAPPORT_ROLE_VISIBILITY = {
    "admin": "all",
    "manager": "team",
    "seller": "team",
    "marketer": "all",
    "service": "all",
}
RAPPORT_DEFAULT_PHONE_REGION = os.environ.get("RAPPORT_DEFAULT_PHONE_REGION", "US")
# Imports larger than this run in the background worker with a progress bar.
RAPPORT_IMPORT_INLINE_ROWS = int(os.environ.get("RAPPORT_IMPORT_INLINE_ROWS", "2000"))
RAPPORT_PAGE_SIZE = 50
# The reporting currency: exchange rates say what one unit of another currency is worth in it.
RAPPORT_BASE_CURRENCY = os.environ.get("RAPPORT_BASE_CURRENCY", "EUR").strip().upper() or "EUR"
# The seller's name printed on proposals (PDF and the customer's page).
RAPPORT_COMPANY_NAME = os.environ.get("RAPPORT_COMPANY_NAME", "").strip() or "Rapport demo company"
# Insights (docs/insights.md): health is the weighted mean of these components (0 turns one off);
# lifetime value is discounted at this yearly rate over this many years; the purchase models are
# compared on a holdout of this many weeks; contracts renew every this many days.
RAPPORT_HEALTH_WEIGHTS = {"alive": 30, "recency": 25, "engagement": 15, "contact": 15, "deals": 15}
RAPPORT_CLV_DISCOUNT_RATE = float(os.environ.get("RAPPORT_CLV_DISCOUNT_RATE", "0.10"))
RAPPORT_CLV_YEARS = float(os.environ.get("RAPPORT_CLV_YEARS", "3"))
RAPPORT_INSIGHTS_HOLDOUT_WEEKS = int(os.environ.get("RAPPORT_INSIGHTS_HOLDOUT_WEEKS", "26"))
RAPPORT_RENEWAL_PERIOD_DAYS = int(os.environ.get("RAPPORT_RENEWAL_PERIOD_DAYS", "365"))
