"""Settings, driven by environment variables (documented in README.md).

The defaults are for a newcomer on a laptop: SQLite, DEBUG on, the console
provider. Production sets DATABASE_URL, DJANGO_DEBUG=0, a secret key, hosts and
the vendor credentials.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "maskednumbers.admin_site.AdminConfig",  # django.contrib.admin, the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    "phonenumber_field",
    "maskednumbers",
    "providers",
    "rides",
    "conversations",
    "simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out login with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "maskednumbers.urls"
WSGI_APPLICATION = "maskednumbers.wsgi.application"

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
                "simulator.context_processors.simulator_link",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        # Unset or empty: the embedded default.
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE") or "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (server, worker) share the file: wait for locks rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, and every statement run five times on a
    # connection prepared there (psycopg's default threshold): the hot statements of a
    # text are then neither parsed nor planned again (planning was most of PostgreSQL's
    # CPU for a text). A pooler in transaction mode cannot keep prepared statements:
    # DATABASE_PREPARED_STATEMENTS=0.
    if (os.environ.get("DATABASE_PREPARED_STATEMENTS") or "1") != "0":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
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

# Decided here, not at request time, so a test run (which turns DEBUG off) of a
# development checkout does not look for collected static files.
WHITENOISE_AUTOREFRESH = DEBUG

# Vendors post small bodies; anything bigger is refused before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DJANGO_MAX_BODY_BYTES", str(256 * 1024)))

LOGIN_URL = "admin:login"

# --- Content-Security-Policy (Django's own, on every response) -----------------------------
# Scripts only from this origin: the admin's, the simulator's and Swagger UI's (its
# initialiser served as a file too) are all static files. Inline styles stay allowed:
# Swagger UI and the admin set style attributes, which no nonce can cover.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Login throttling (django-axes) -------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused (429, even with the right password) until the cool-off has passed or a superuser
# unlocks it (admin: Axes, Access attempts; or `manage.py axes_reset_username <name>`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("DJANGO_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# --- Production hardening (DEBUG off) -------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "maskednumbers.api.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Staff with the model permission the admin would ask for (maskednumbers/api.py).
    "DEFAULT_PERMISSION_CLASSES": ["maskednumbers.api.AdminModelPermissions"],
    "DEFAULT_PARSER_CLASSES": [
        "maskednumbers.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "maskednumbers.api.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "maskednumbers.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Masked numbers API",
    "DESCRIPTION": "Proxy numbers, rides and conversations of the masked numbers service.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are staff only, like everything under /api/.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAdminUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The events sent to the platform (README: Events to the platform): webhooks are
    # OpenAPI 3.1.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "providers.event_schema.WEBHOOKS",
}

# --- Background tasks ----------------------------------------------------------------------
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
_tasks_backend = os.environ.get("DJANGO_TASKS_BACKEND", "database")
if _tasks_backend not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"DJANGO_TASKS_BACKEND must be one of {sorted(_TASK_BACKENDS)}, not {_tasks_backend!r}."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[_tasks_backend]}}

# --- Providers -----------------------------------------------------------------------------
# The public base URL vendors call (scheme + host, no trailing slash). MessageBird signs
# the URL it called; behind a proxy the URL Django sees differs, so signatures are
# checked against this one when it is set. Sends ask MessageBird, Twilio and Flowroute
# for delivery receipts at this URL; unset, none are asked for.
MASKED_NUMBERS_PUBLIC_URL = os.environ.get("MASKED_NUMBERS_PUBLIC_URL", "").rstrip("/")

# MessageBird signatures: the longest a token may still live when it arrives. Its `jti`
# is kept with the event's log row, longer than this, so no token outlives that memory.
MASKED_NUMBERS_REPLAY_WINDOW_SECONDS = float(
    os.environ.get("MASKED_NUMBERS_REPLAY_WINDOW", str(24 * 3600))
)

MASKED_NUMBERS_PROVIDERS: dict[str, dict] = {}
if DEBUG or env_bool("MASKED_NUMBERS_CONSOLE", False):
    MASKED_NUMBERS_PROVIDERS["console"] = {
        "BACKEND": "providers.backends.console.ConsoleProvider",
        # Development: each outgoing SMS and its text in the terminal of `make run`.
        "OPTIONS": {"echo": env_bool("MASKED_NUMBERS_CONSOLE_ECHO", DEBUG)},
    }
if os.environ.get("MESSAGEBIRD_ACCESS_KEY"):
    MASKED_NUMBERS_PROVIDERS["messagebird"] = {
        "BACKEND": "providers.backends.messagebird.MessageBirdProvider",
        "OPTIONS": {
            "access_key": os.environ["MESSAGEBIRD_ACCESS_KEY"],
            "signing_key": os.environ.get("MESSAGEBIRD_SIGNING_KEY", ""),
            "api_url": os.environ.get("MESSAGEBIRD_API_URL", "https://rest.messagebird.com"),
            "timeout": float(os.environ.get("MESSAGEBIRD_TIMEOUT", "10")),
            "public_url": MASKED_NUMBERS_PUBLIC_URL,
            "replay_window_seconds": MASKED_NUMBERS_REPLAY_WINDOW_SECONDS,
        },
    }
if os.environ.get("FLOWROUTE_ACCESS_KEY") and os.environ.get("FLOWROUTE_SECRET_KEY"):
    MASKED_NUMBERS_PROVIDERS["flowroute"] = {
        "BACKEND": "providers.backends.flowroute.FlowrouteProvider",
        "OPTIONS": {
            "access_key": os.environ["FLOWROUTE_ACCESS_KEY"],
            "secret_key": os.environ["FLOWROUTE_SECRET_KEY"],
            "webhook_token": os.environ.get("FLOWROUTE_WEBHOOK_TOKEN", ""),
            "api_url": os.environ.get("FLOWROUTE_API_URL", "https://api.flowroute.com/v2.1"),
            "timeout": float(os.environ.get("FLOWROUTE_TIMEOUT", "10")),
            "public_url": MASKED_NUMBERS_PUBLIC_URL,
        },
    }
if os.environ.get("TWILIO_ACCOUNT_SID") and os.environ.get("TWILIO_AUTH_TOKEN"):
    MASKED_NUMBERS_PROVIDERS["twilio"] = {
        "BACKEND": "providers.backends.twilio.TwilioProvider",
        "OPTIONS": {
            "account_sid": os.environ["TWILIO_ACCOUNT_SID"],
            "auth_token": os.environ["TWILIO_AUTH_TOKEN"],
            "api_url": os.environ.get("TWILIO_API_URL", "https://api.twilio.com"),
            "timeout": float(os.environ.get("TWILIO_TIMEOUT", "10")),
            "public_url": MASKED_NUMBERS_PUBLIC_URL,
        },
    }
if os.environ.get("BIRD_API_KEY"):
    MASKED_NUMBERS_PROVIDERS["bird"] = {
        "BACKEND": "providers.backends.bird.BirdProvider",
        "OPTIONS": {
            "api_key": os.environ["BIRD_API_KEY"],
            "webhook_secret": os.environ.get("BIRD_WEBHOOK_SECRET", ""),
            # Empty: the region's URL, which the SDK derives from the key.
            "api_url": os.environ.get("BIRD_API_URL", ""),
            "sms_category": os.environ.get("BIRD_SMS_CATEGORY", "transactional"),
            "timeout": float(os.environ.get("BIRD_TIMEOUT", "10")),
        },
    }

# Who decides what happens to traffic on a proxy number, by the number's service.
MASKED_NUMBERS_ROUTERS = {
    "rides": "rides.router.RidesRouter",
    "conversations": "conversations.router.ConversationsRouter",
}

# Delivery: transient vendor failures retry with exponential backoff. With the defaults
# 20 attempts span about three hours, so a vendor outage of that length loses nothing.
MASKED_NUMBERS_DELIVERY = {
    "MAX_ATTEMPTS": int(os.environ.get("MASKED_NUMBERS_MAX_ATTEMPTS", "20")),
    "BACKOFF_BASE_SECONDS": float(os.environ.get("MASKED_NUMBERS_BACKOFF_BASE", "5")),
    "BACKOFF_MAX_SECONDS": float(os.environ.get("MASKED_NUMBERS_BACKOFF_MAX", "900")),
    # A message in `sending` for longer than this is assumed lost with its worker.
    "SENDING_LEASE_SECONDS": float(os.environ.get("MASKED_NUMBERS_SENDING_LEASE", "120")),
    # Finished delivery task rows (database backend) are deleted by the sweep after this.
    "TASK_RESULTS_KEPT_HOURS": float(os.environ.get("MASKED_NUMBERS_TASK_RESULTS_KEPT", "24")),
}

# Events to the platform (providers/events.py): unset URL, no events at all. The secret
# (`whsec_...`) signs each one by the Standard Webhooks scheme; numbers are masked
# unless MASKED_NUMBERS_EVENTS_FULL_NUMBERS is on. Retries as MASKED_NUMBERS_DELIVERY.
MASKED_NUMBERS_EVENTS_URL = os.environ.get("MASKED_NUMBERS_EVENTS_URL", "")
MASKED_NUMBERS_EVENTS_SECRET = os.environ.get("MASKED_NUMBERS_EVENTS_SECRET", "")
MASKED_NUMBERS_EVENTS_FULL_NUMBERS = env_bool("MASKED_NUMBERS_EVENTS_FULL_NUMBERS", False)
MASKED_NUMBERS_EVENTS_TIMEOUT = float(os.environ.get("MASKED_NUMBERS_EVENTS_TIMEOUT", "10"))

# Retention: message texts and people's numbers of sessions that ended more than this
# many days ago are erased by `outbox_sweep` (providers/retention.py).
MASKED_NUMBERS_RETENTION_DAYS = float(os.environ.get("MASKED_NUMBERS_RETENTION_DAYS", "30"))
if MASKED_NUMBERS_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("MASKED_NUMBERS_RETENTION_DAYS must be 0 or more days.")

# Consent: a text that is one of these words alone (any case, surrounding spaces and
# punctuation ignored) opts its sender out of, or back in to, texts from that number.
MASKED_NUMBERS_OPT_OUT_KEYWORDS = [
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
]  # fmt: skip
MASKED_NUMBERS_OPT_IN_KEYWORDS = ["START", "UNSTOP", "YES"]
MASKED_NUMBERS_OPT_OUT_CONFIRMATION = os.environ.get(
    "MASKED_NUMBERS_OPT_OUT_CONFIRMATION",
    "You will no longer receive texts from this number. Reply START to resume.",
)
MASKED_NUMBERS_OPT_IN_CONFIRMATION = os.environ.get(
    "MASKED_NUMBERS_OPT_IN_CONFIRMATION",
    "You will receive texts from this number again. Reply STOP to stop.",
)
# Told once per session to a party whose texts are not delivered because the other
# party opted out of the number (it says nothing else about them).
MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE = os.environ.get(
    "MASKED_NUMBERS_RECIPIENT_OPTED_OUT_NOTICE",
    "Sorry, your texts through this number cannot be delivered.",
)
# Whether a person who opted out of a number's texts is also not put through to by calls.
MASKED_NUMBERS_OPT_OUT_BLOCKS_CALLS = env_bool("MASKED_NUMBERS_OPT_OUT_BLOCKS_CALLS", False)

# HELP: a text that is one of these words alone gets, from someone who is no party of a
# session on the number, this reply (a party's HELP is the service's own: relayed on a
# ride, the protocol's usage text with the stop line below on a conversations number).
MASKED_NUMBERS_HELP_KEYWORDS = ["HELP", "INFO"]
MASKED_NUMBERS_HELP_REPLY = os.environ.get(
    "MASKED_NUMBERS_HELP_REPLY",
    "Masked numbers: texts to this number reach the person you are paired with, without "
    "showing your number. Msg&data rates may apply. Reply STOP to stop texts from this number.",
)
MASKED_NUMBERS_HELP_STOP = os.environ.get(
    "MASKED_NUMBERS_HELP_STOP",
    "Msg&data rates may apply. Reply STOP to stop texts from this number.",
)

# Replies to people who are no party (usage texts, HELP, unknown-sender replies, JOIN
# errors): at most this many per sender and number, and per number, in an hour; then
# silence. Only to these countries (ISO codes, comma-separated; empty: the countries of
# the pool's active numbers), never to premium-rate, shared-cost or +881/+882/+883.
MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER = int(
    os.environ.get("MASKED_NUMBERS_SYSTEM_REPLIES_PER_SENDER", "5")
)
MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER = int(
    os.environ.get("MASKED_NUMBERS_SYSTEM_REPLIES_PER_NUMBER", "60")
)
MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES = [
    c.strip().upper()
    for c in os.environ.get("MASKED_NUMBERS_SYSTEM_REPLY_COUNTRIES", "").split(",")
    if c.strip()
]

# Relay loops (providers/loops.py): a party's texts in one session are relayed at most
# this many times per window, and the same text at most this many times; beyond, they
# are not relayed and the party gets the notice once per window.
MASKED_NUMBERS_LOOP_MAX_TEXTS = int(os.environ.get("MASKED_NUMBERS_LOOP_MAX_TEXTS", "20"))
MASKED_NUMBERS_LOOP_MAX_REPEATS = int(os.environ.get("MASKED_NUMBERS_LOOP_MAX_REPEATS", "3"))
MASKED_NUMBERS_LOOP_WINDOW_MINUTES = float(
    os.environ.get("MASKED_NUMBERS_LOOP_WINDOW_MINUTES", "10")
)
MASKED_NUMBERS_LOOP_NOTICE = os.environ.get(
    "MASKED_NUMBERS_LOOP_NOTICE",
    "You have sent many texts in a short time, so they are not passed on for now. "
    "Please try again in a few minutes.",
)

# How long a process keeps a pool number it looked up for routing (providers/pool.py):
# changes made in another process reach routing within this; 0 turns it off.
MASKED_NUMBERS_POOL_CACHE_SECONDS = float(os.environ.get("MASKED_NUMBERS_POOL_CACHE", "5"))

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

PHONENUMBER_DEFAULT_REGION = os.environ.get("MASKED_NUMBERS_DEFAULT_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

# --- Logging: numbers are masked by the code that logs; bodies are DEBUG only. ---
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"webhook_tokens": {"()": "providers.log.RedactWebhookTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Without this, Django's own console handler on "django" (DEBUG) printed every
        # django.* record a second time, beside the root handler's line.
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["webhook_tokens"]},
        "django.tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        # Lockouts and repeated failures (usernames masked) are warnings; the rest noise.
        "axes": {"level": "WARNING"},
    },
}
