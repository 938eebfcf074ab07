"""One settings module, read from the environment (12-factor).

With nothing set the project runs on an embedded default: a SQLite file under
``var/``, Celery on kombu's filesystem transport (no broker server) and email
written to a local outbox. ``DATABASE_URL`` / ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis; ``DEBUG=false`` switches on the production hardening and
refuses to start without ``SECRET_KEY``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
else:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.") from exc

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "anymail",
    # Locks a login after repeated wrong passwords (see "Login protection" below).
    "axes",
    "care",
    "incidents",
    "vouchers",
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
    # Last, as axes asks: turns a login that axes refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database -----------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'care.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock up front instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    # Persistent connections suit gunicorn's long-lived workers; the development server starts a thread per
    # request, and a persistent connection per thread would pile up idle connections until PostgreSQL refuses.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if DEBUG else 60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------
# Counts failed voucher lookups per client (vouchers.throttling). The per-process default is fine for one
# process; with several web processes set CACHE_URL=redis://… so they share one count.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# A client (API token, staff login or address) that sends this many unknown, mistyped or malformed voucher
# codes within the window gets 429 until the window ends: guessing 80-bit codes must not pay.
VOUCHER_FAILED_LOOKUPS_ALLOWED = env.int("VOUCHER_FAILED_LOOKUPS_ALLOWED", default=10)
VOUCHER_FAILED_LOOKUPS_WINDOW = timedelta(seconds=env.int("VOUCHER_FAILED_LOOKUPS_WINDOW_SECONDS", default=600))
# So that parallel guesses cannot outrun the count, a client runs at most as many lookups at once as it has
# failures left; a further lookup waits up to this long for one of them to finish, then gets 429 (Retry-After 1).
VOUCHER_LOOKUP_WAIT = timedelta(seconds=env.float("VOUCHER_LOOKUP_WAIT_SECONDS", default=5.0))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Login protection (django-axes) -----------------------------------------------
# Every password login (/admin/login/ and /briefings/login/) passes axes' backend first: after
# AXES_FAILURE_LIMIT wrong passwords in a row for one username from one address, that username is refused from
# that address, with the lockout page (429), until AXES_COOLOFF_MINUTES after the last attempt. API tokens do not
# go through authenticate() and are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_cool_off_minutes = env.int("AXES_COOLOFF_MINUTES", default=15)
if AXES_FAILURE_LIMIT < 1 or _cool_off_minutes < 1:
    # No cool-off would lock for ever (until a coordinator unlocks), which nobody here wants by accident.
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1.")
AXES_COOLOFF_TIME = timedelta(minutes=_cool_off_minutes)
# What one lock covers: "username+ip_address" (the default) is the combination, so somebody guessing a
# coordinator's password locks that username only from their own address, never the coordinator from
# everywhere. A comma separates independent locks, e.g. "username+ip_address,ip_address".
AXES_LOCKOUT_PARAMETERS: list[str | list[str]] = [
    part.split("+") if "+" in part else part
    for part in env.list("AXES_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
# A successful login clears the count; an attempt while locked, even with the right password, restarts the
# cool-off (so the lockout page can say exactly when to come back: the cool-off from now).
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "care.core.login_lockout.lockout_response"
# The client's address behind our reverse proxies (care.core.client_ip). axes' AXES_IPWARE_* settings need
# django-ipware, which is not installed; these two are read by care.core.client_ip instead. TRUSTED_PROXY_COUNT is
# how many proxies in front of the app append to CLIENT_IP_HEADER: 0 (no proxy) ignores the header entirely;
# behind one load balancer or nginx set 1. Too high lets a client choose the address it is counted under; 0
# behind a proxy makes every login come from the proxy's address, so a lock would hold a username for everyone.
AXES_CLIENT_IP_CALLABLE = "care.core.client_ip.client_ip"
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="X-Forwarded-For")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
# Personal data: axes keeps only what a lock needs (username, address, user agent of the failing attempts; the
# posted form with username and password masked), deleted at the first login after the cool-off. No record of
# every successful login (AccessLog), no permanent failure log, and its log lines show the path but mask the
# username and address (AXES_VERBOSE would add the user agent and a start-up banner).
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Demo -----------------------------------------------------------------------
# `manage.py bootstrap` keeps the demo logins' random passwords here (mode 0600), development only.
DEMO_LOGINS_FILE = Path(env.str("DEMO_LOGINS_FILE", default=str(VAR_DIR / "demo-logins.txt")))

# --- Celery ---------------------------------------------------------------------
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast/control messages (worker pings, shutdown) would otherwise land in ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged message after this many seconds; every
    # retry countdown and ETA in the project must stay below it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# At-least-once delivery: a task is acknowledged only when it has finished, and a
# worker killed mid-task gives the message back; every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Email ----------------------------------------------------------------------
# The embedded default is care.correspondence.outbox: an anymail backend that writes every message,
# as the customer would read it, to the "outbox messages" the admin shows. Production
# sets EMAIL_BACKEND to an anymail ESP backend, e.g. anymail.backends.postmark.EmailBackend,
# and the ESP keys below.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="care.correspondence.outbox.OutboxEmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Customer Care <care@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ANYMAIL = {
    "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN", default=""),
    "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY", default=""),
    "MAILGUN_SENDER_DOMAIN": env.str("MAILGUN_SENDER_DOMAIN", default=""),
    # Unset, a random key: an empty one would make Mailgun's signature trivially forgeable.
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default="") or secrets.token_hex(32),
    "SENDGRID_API_KEY": env.str("SENDGRID_API_KEY", default=""),
    # Basic auth ("user:password") on every tracking webhook. Unset, anymail would accept posts from
    # anyone (it only warns): a random secret per process makes every post a 400 instead, and
    # `check --deploy` fails (care.E001) when a real ESP is configured without the secret.
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="")
    or f"unset-{secrets.token_hex(16)}:{secrets.token_hex(32)}",
}
ANYMAIL_WEBHOOK_SECRET_FROM_ENV = bool(env.str("ANYMAIL_WEBHOOK_SECRET", default=""))
# --- SMS (care.correspondence.sms) ---
# The embedded default writes every SMS to the local "SMS outbox messages" the admin shows; production sets
# SMS_BACKEND=care.correspondence.sms.backends.TwilioSmsBackend and the TWILIO_* values below.
SMS_BACKEND = env.str("SMS_BACKEND", default="care.correspondence.sms.backends.OutboxSmsBackend")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
# Also the key the provider's webhooks are signed with: without it /sms/twilio/… answer 404.
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
# The sender: a number in E.164, or a messaging service (which picks the number; it wins when both are set).
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Messages per second the provider backend hands over, per worker process (the bucket is in-process).
SMS_RATE_PER_SECOND = env.float("SMS_RATE_PER_SECOND", default=10.0)
if SMS_RATE_PER_SECOND <= 0:
    raise ImproperlyConfigured("SMS_RATE_PER_SECOND must be above 0.")
# Letters per send_letters task (and so at most per ESP batch call).
CARE_SEND_CHUNK = env.int("CARE_SEND_CHUNK", default=100)
# The send task's own time limits. It starts no ESP call after half its soft limit (care.tasks.SEND_TIME_BUDGET)
# and a chunk takes seconds, so it needs far less than the five minutes other tasks may take; its hard limit
# bounds how long the letters of a crashed run wait before they are reconciled (below).
CARE_SEND_SOFT_TIME_LIMIT = env.int("CARE_SEND_SOFT_TIME_LIMIT", default=min(120, CELERY_TASK_SOFT_TIME_LIMIT))
CARE_SEND_TIME_LIMIT = env.int("CARE_SEND_TIME_LIMIT", default=min(150, CELERY_TASK_TIME_LIMIT))
_SEND_SOFT_TIME_LIMIT_MIN = 20  # twice the smallest budget care.tasks gives a run (10 s)
if not _SEND_SOFT_TIME_LIMIT_MIN <= CARE_SEND_SOFT_TIME_LIMIT < CARE_SEND_TIME_LIMIT:
    raise ImproperlyConfigured("CARE_SEND_SOFT_TIME_LIMIT must be at least 20 s and below CARE_SEND_TIME_LIMIT.")
# A letter still SENDING this long after its run last wrote it belongs to no live run: prefork kills a send run
# CARE_SEND_TIME_LIMIT seconds after it started, and every write a run makes comes after its start. The margin
# absorbs clock differences between the worker hosts. care.correspondence.sending.reconcile takes such letters.
CARE_SENDING_STALE_AFTER = timedelta(seconds=CARE_SEND_TIME_LIMIT + 30)
# --- The public letter page (care.correspondence.letter_page) ---
# Where customers reach this app from outside, without a trailing slash: the links in SMS are built on it
# (https://care.example.com in production; the link must fit a two-segment SMS, so keep it short).
CARE_PUBLIC_URL = env.str("CARE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# Requests per minute one client address may make to /l/… before it gets 429 for the rest of that minute: the
# links are signed, so only a guesser needs more than a few.
CARE_LETTER_PAGE_REQUESTS_PER_MINUTE = env.int("CARE_LETTER_PAGE_REQUESTS_PER_MINUTE", default=30)
if CARE_LETTER_PAGE_REQUESTS_PER_MINUTE < 1:
    raise ImproperlyConfigured("CARE_LETTER_PAGE_REQUESTS_PER_MINUTE must be at least 1.")
# Letters approved one by one from the changelist; a bigger batch goes through the sample review.
CARE_MAX_INDIVIDUAL_APPROVALS = env.int("CARE_MAX_INDIVIDUAL_APPROVALS", default=25)
# How many letters of a batch the coordinator reads before approving it.
CARE_APPROVAL_SAMPLE_SIZE = env.int("CARE_APPROVAL_SAMPLE_SIZE", default=10)
# A batch whose vouchers are worth more than this (in any one currency) needs a second coordinator.
CARE_SECOND_APPROVAL_ABOVE = Decimal(env.str("CARE_SECOND_APPROVAL_ABOVE", default="10000"))
# --- Scheduled sweeps (care.operations.sweeps) ---
# Affected customers per task when a sweep fans work out (first notices, updates, follow-ups, surveys).
CARE_SWEEP_CHUNK = env.int("CARE_SWEEP_CHUNK", default=500)
# Apologies are prepared this long after an incident is resolved (the story is complete, tempers have
# cooled), and never later than 48 hours: a late apology reads as an afterthought.
CARE_FOLLOW_UP_AFTER = timedelta(minutes=env.int("CARE_FOLLOW_UP_AFTER_MINUTES", default=120))
if not timedelta(0) <= CARE_FOLLOW_UP_AFTER <= timedelta(hours=48):
    raise ImproperlyConfigured("CARE_FOLLOW_UP_AFTER_MINUTES must be between 0 and 2880 (48 hours).")
# A customer hit again within this window gets one apology that acknowledges every disruption.
CARE_COMBINE_WINDOW = timedelta(days=env.int("CARE_COMBINE_WINDOW_DAYS", default=7))
# The satisfaction survey follows the apology after this long (only with the customer's consent).
CARE_SURVEY_AFTER = timedelta(hours=env.int("CARE_SURVEY_AFTER_HOURS", default=72))
# A refused import file (bad header, unreadable) is kept this long for a look, then deleted (personal data).
CARE_REFUSED_IMPORT_RETENTION = timedelta(days=env.int("CARE_REFUSED_IMPORT_RETENTION_DAYS", default=7))
# A promise of the next update must lie ahead and within this horizon (a typo of a year would reach every letter).
CARE_PROMISE_HORIZON = timedelta(hours=env.int("CARE_PROMISE_HORIZON_HOURS", default=24))
# A customer update without a customer's language holds that customer's update letter this long at most for its
# translation; past it the news goes in English, introduced as quoted (care.correspondence.phrases).
CARE_UNTRANSLATED_NEWS_HOLD = timedelta(minutes=env.int("CARE_UNTRANSLATED_NEWS_HOLD_MINUTES", default=20))
if not timedelta(0) <= CARE_UNTRANSLATED_NEWS_HOLD <= timedelta(hours=2):
    raise ImproperlyConfigured("CARE_UNTRANSLATED_NEWS_HOLD_MINUTES must be between 0 and 120.")
ONCALL_COORDINATOR_EMAIL = env.str("ONCALL_COORDINATOR_EMAIL", default="oncall-coordinator@example.com")

# --- REST API -------------------------------------------------------------------
REST_FRAMEWORK = {
    # drf-spectacular's, plus the error answers each operation can give (care.core.api.schema).
    "DEFAULT_SCHEMA_CLASS": "care.core.api.schema.ApiAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "care.core.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["care.core.api.permissions.ScopeOrRolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "care.core.api.errors.api_exception_handler",
    # DRF's parsers, with a JSON parser that answers a pathologically nested body with a 400.
    "DEFAULT_PARSER_CLASSES": [
        "care.core.api.input.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Proactive Care API",
    # The schema describes the API, not the schema and docs views.
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components: what a client sends (required, min lengths) is not what it reads.
    "COMPONENT_SPLIT_REQUEST": True,
    "VERSION": "1.0.0",
    # The docs UI's scripts come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or "kind"; each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "IncidentKindEnum": "incidents.models.IncidentKind",
        "ImportStatusEnum": "incidents.models.ImportStatus",
        "LetterStatusEnum": "care.correspondence.models.letters.LetterStatus",
        "LetterKindEnum": "care.correspondence.models.letters.LetterKind",
        "VoucherStatusEnum": "vouchers.models.VoucherStatus",
    },
}

# --- Logging --------------------------------------------------------------------
# Log ids and counts, never names, emails or phone numbers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # axes logs four INFO lines per login; failures and lockouts (WARNING) are the ones worth keeping.
        "axes": {"level": "WARNING"},
    },
}

# --- Security (production) ------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
