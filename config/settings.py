"""The one settings module: everything comes from the environment, with embedded defaults that just run."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POLYLOG_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", False)  # `make run` turns it on for the embedded demo


def embedded_secret_key() -> str:
    """A random key made once and kept under var/, so no install shares a key that is public."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets
        import tempfile

        # Published with link(), which fails if another process got there first: every process of
        # an install ends up reading the same, complete key.
        with tempfile.NamedTemporaryFile("w", dir=VAR_DIR, delete=False) as draft:
            draft.write(secrets.token_urlsafe(50))
        try:
            os.link(draft.name, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft.name)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY") or embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "channels",
    "apps.common",
    "apps.accounts",
    "apps.datasets",
    "apps.labeling",
    "apps.interchange",
    "apps.assist",
    "apps.review",
    "apps.tasks",
    "apps.ops",
]

MIDDLEWARE = [
    "apps.common.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.common.middleware.SecurityHeadersMiddleware",
    # The pages' CSS and ES modules, served by every Daphne process itself, DEBUG or not (a proxy in front
    # may still cache them); straight from the app folders, so no collectstatic step is needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# HTTPS deployments (docs/reliability.md, "Production settings"): POLYLOG_HTTPS=true turns on the redirect,
# secure cookies and HSTS, so that `manage.py check --deploy` is clean; behind a proxy that terminates TLS,
# POLYLOG_BEHIND_PROXY=true trusts its X-Forwarded-Proto header (and only then).
if env_bool("POLYLOG_HTTPS", False):
    SECURE_SSL_REDIRECT = env_bool("POLYLOG_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("POLYLOG_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("POLYLOG_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("POLYLOG_HSTS_PRELOAD", True)
if env_bool("POLYLOG_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Form fields and JSON bodies (uploaded files are bounded by POLYLOG["MAX_REQUEST_BYTES"] instead).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("POLYLOG_MAX_BODY_BYTES", str(5 * 1024 * 1024)))

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'polylog.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding gives the same statement text for every call, and psycopg prepares a statement
    # once it has run `prepare_threshold` times on a connection: PostgreSQL then stops parsing and planning
    # the command path's queries again and again (about half its CPU per command; docs/performance.md).
    # Django turns preparing off unless asked, for connection poolers: set POLYLOG_PG_PREPARE_THRESHOLD
    # to "off" behind a PgBouncer in transaction mode older than 1.21.
    _prepare = os.environ.get("POLYLOG_PG_PREPARE_THRESHOLD", "5").strip().lower()
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=env_bool("POLYLOG_PG_SERVER_SIDE_BINDING", True),
        prepare_threshold=None if _prepare in {"off", "none", ""} else int(_prepare),
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Keep connections: opening one costs more than a command (the PRAGMAs below run on each open).
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: in-memory for one process, Redis across processes when REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_channel_layer(url: str) -> dict[str, object]:
    """channels_redis' publish/subscribe layer on `url`, on lean connections (apps/common/channel_layer.py):
    redis://[:password@]host[:port][/db], or rediss:// for TLS (`?ssl_ca_certs=<PEM file>` adds a private
    certificate authority). Redis shares its pub/sub channels among all its databases, so the prefix names
    the URL's database: deployments and test runs that share a Redis under different database numbers
    stay apart (POLYLOG_CHANNEL_PREFIX sets the prefix outright)."""
    database = urlsplit(url).path.strip("/") or "0"
    prefix = os.environ.get("POLYLOG_CHANNEL_PREFIX") or f"polylog.db{database}."
    return {
        "BACKEND": "apps.common.channel_layer.LeanPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": url}], "prefix": prefix},
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "apps.common.embedded_layer.EmbeddedChannelLayer"}}

# Django's cache holds the failed-login counts (apps/accounts/throttle.py): in Redis when REDIS_URL is set,
# so that every server process counts the same attempts; otherwise in this process's memory.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background tasks (apps/tasks, docs/operations.md): on RQ over Redis through django-rq when REDIS_URL is
# set (`manage.py worker` runs the workers), else on a thread pool inside the server process. Two queues, on
# the same Redis: "polylog-low" holds the low-priority kinds (thumbnails), which a worker takes only when
# "polylog" has nothing (apps/tasks/backends.py).
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 24 * 3600}
    for name in ("polylog", "polylog-low")
}

# Storage: local files under var/media, or S3-compatible storage when a bucket is configured.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"  # `collectstatic` writes here for a proxy that serves files itself
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
WHITENOISE_USE_FINDERS = True
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY") or None
    AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", True)
    default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    default_storage = {
        # FileSystemStorage that reads no file through a symlink (path imports register files in place).
        "BACKEND": "apps.datasets.storage.MediaStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous requests 401, not 403.
        "apps.accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.common.errors.api_exception_handler",
    # JSON only, with DRF's JSON parser made to refuse deep nesting as malformed JSON (a 400, not a 500): a
    # form body is a 415, and the schema offers JSON alone. Views that take uploads add multipart themselves
    # (apps.common.parsers.UPLOAD_PARSERS).
    "DEFAULT_PARSER_CLASSES": ["apps.common.parsers.JSONParser"],
    # What the test client sends when a test names no format: what the API takes.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "apps.common.pagination.Pagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "polylog API",
    "DESCRIPTION": "Event-sourced image-segmentation labeling. Errors are {code, message}.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.openapi.add_common_error_responses",
    ],
}


def image_sources() -> str:
    """Where pages may load images from: this site, and the object storage that serves them when S3 is on."""
    sources = ["'self'", "data:", "blob:"]
    if AWS_STORAGE_BUCKET_NAME:
        from urllib.parse import urlsplit

        endpoint = urlsplit(os.environ.get("AWS_S3_ENDPOINT_URL") or "")
        sources.append(
            f"{endpoint.scheme}://{endpoint.netloc}" if endpoint.netloc else "https://*.amazonaws.com"
        )
    return " ".join(sources)


# Scripts only from this site's static files (the pages are ES modules and no inline script): `{static}`
# becomes STATIC_URL on the request's host (apps/common/middleware.py), since 'self' would also allow a
# stored file under /media/. No plugins, no framing; style attributes are allowed (progress bars and the
# admin set widths inline).
CONTENT_SECURITY_POLICY = os.environ.get(
    "POLYLOG_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src {static}; style-src 'self' 'unsafe-inline'; "
    f"img-src {image_sources()}; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# The labeling core.
POLYLOG = {
    "CONTENT_SECURITY_POLICY": CONTENT_SECURITY_POLICY,
    # The server share that Add data's "path" imports read from (apps/datasets/imports.py, docs/data.md): a
    # folder with local storage, a key prefix of the bucket with S3. Never the app's own datasets/ folder.
    # A local root inside the media folder (the default) has its files registered in place, not copied.
    "IMPORT_ROOT": os.environ.get("POLYLOG_IMPORT_ROOT")
    or ("import/" if AWS_STORAGE_BUCKET_NAME else str(MEDIA_ROOT / "import")),
    # Behind nginx (docs/deploy.md): /media/ checks who asks, then hands the file to nginx with
    # X-Accel-Redirect under this prefix (an `internal` location). Empty: Django sends the bytes itself.
    "MEDIA_ACCEL_PREFIX": os.environ.get("POLYLOG_MEDIA_ACCEL_PREFIX", ""),
    # Sign-in: failed logins allowed per username and per client address in a window, after which even the
    # right password is refused (429) until the window has passed; API tokens' lifetime (docs/api.md).
    "LOGIN_FAILURES": int(os.environ.get("POLYLOG_LOGIN_FAILURES", "10")),
    "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("POLYLOG_LOGIN_FAILURES_PER_ADDRESS", "50")),
    "LOGIN_WINDOW_SECONDS": int(os.environ.get("POLYLOG_LOGIN_WINDOW_SECONDS", "900")),
    "TOKEN_TTL_HOURS": float(os.environ.get("POLYLOG_TOKEN_TTL_HOURS", str(14 * 24))),
    # Behind a proxy (POLYLOG_BEHIND_PROXY, above), the client address is the one it adds to X-Forwarded-For.
    "BEHIND_PROXY": env_bool("POLYLOG_BEHIND_PROXY", False),
    "PERMISSIONS_POLICY": os.environ.get(
        "POLYLOG_PERMISSIONS_POLICY", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    ),
    # The whole body of one request, uploads included; over it, 413 request_too_large before any reading.
    "MAX_REQUEST_BYTES": int(os.environ.get("POLYLOG_MAX_REQUEST_BYTES", str(1024 * 1024 * 1024))),
    "MAX_UPLOAD_FILES": int(os.environ.get("POLYLOG_MAX_UPLOAD_FILES", "1000")),
    "SNAPSHOT_EVERY": int(os.environ.get("POLYLOG_SNAPSHOT_EVERY", "100")),
    "MAX_VERTICES": int(os.environ.get("POLYLOG_MAX_VERTICES", "1000")),
    # The labeling page puts a vertex placed or dragged this many SCREEN pixels outside the image on its border.
    "CLAMP_TOLERANCE_PX": float(os.environ.get("POLYLOG_CLAMP_TOLERANCE_PX", "16")),
    "MAX_SHAPES": int(os.environ.get("POLYLOG_MAX_SHAPES", "1000")),
    "MAX_DRAFTS": int(os.environ.get("POLYLOG_MAX_DRAFTS", "20")),
    "MAX_IMAGE_PIXELS": int(os.environ.get("POLYLOG_MAX_IMAGE_PIXELS", str(100_000_000))),
    "MAX_IMPORT_FILE_BYTES": int(os.environ.get("POLYLOG_MAX_IMPORT_FILE_BYTES", str(200 * 1024 * 1024))),
    "STATE_CACHE_SIZE": int(os.environ.get("POLYLOG_STATE_CACHE_SIZE", "512")),
    # Websocket limits (per connection).
    "WS_MAX_FRAME_BYTES": int(os.environ.get("POLYLOG_WS_MAX_FRAME_BYTES", str(256 * 1024))),
    "WS_COMMANDS_PER_SECOND": float(os.environ.get("POLYLOG_WS_COMMANDS_PER_SECOND", "50")),
    "WS_COMMAND_BURST": int(os.environ.get("POLYLOG_WS_COMMAND_BURST", "100")),
    "WS_CURSORS_PER_SECOND": float(os.environ.get("POLYLOG_WS_CURSORS_PER_SECOND", "30")),
    "WS_IDLE_SECONDS": float(os.environ.get("POLYLOG_WS_IDLE_SECONDS", "300")),
    "WS_LAG_CHECK_SECONDS": float(os.environ.get("POLYLOG_WS_LAG_CHECK_SECONDS", "1")),
    # Threads per server process that run websocket commands (see apps/labeling/consumers.py).
    "WS_COMMAND_THREADS": int(os.environ.get("POLYLOG_WS_COMMAND_THREADS", "2")),
    # How long a socket holds an event that came before an earlier one, before reading the gap from the store.
    "WS_GAP_WAIT_SECONDS": float(os.environ.get("POLYLOG_WS_GAP_WAIT_SECONDS", "0.05")),
    # Background tasks: "rq" (with REDIS_URL) or "embedded"; threads of the embedded pool; how often a
    # running task writes its heartbeat, after how long without one its worker counts as dead, how many
    # times a resumable run is taken up before it is given up, and RQ's time limit for one run.
    "TASK_BACKEND": os.environ.get("POLYLOG_TASK_BACKEND") or ("rq" if REDIS_URL else "embedded"),
    "TASK_THREADS": int(os.environ.get("POLYLOG_TASK_THREADS", str(min(4, os.cpu_count() or 1)))),
    # Processes that read an import's JPEGs on the embedded queue (apps/datasets/reading.py); 0: the task
    # threads read them in the server's process.
    "IMPORT_PROCESSES": int(os.environ.get("POLYLOG_IMPORT_PROCESSES", str(min(4, os.cpu_count() or 1)))),
    "TASK_HEARTBEAT_SECONDS": float(os.environ.get("POLYLOG_TASK_HEARTBEAT_SECONDS", "5")),
    "TASK_STALE_SECONDS": float(os.environ.get("POLYLOG_TASK_STALE_SECONDS", "30")),
    # How often a worker, and an embedded server, sweeps for runs whose worker died (0: only at its start).
    "TASK_SWEEP_SECONDS": float(os.environ.get("POLYLOG_TASK_SWEEP_SECONDS", "5")),
    # How often a server of the embedded setup copies SQLite's write-ahead log into the database file, from a
    # thread of its own rather than on a commit (apps/common/sqlite_wal.py); 0: SQLite's own, on commits.
    "SQLITE_CHECKPOINT_SECONDS": float(os.environ.get("POLYLOG_SQLITE_CHECKPOINT_SECONDS", "1")),
    "TASK_MAX_ATTEMPTS": int(os.environ.get("POLYLOG_TASK_MAX_ATTEMPTS", "3")),
    "TASK_TIMEOUT_SECONDS": int(os.environ.get("POLYLOG_TASK_TIMEOUT_SECONDS", str(24 * 3600))),
    # Imports: files registered per transaction, and images per thumbnail task.
    "IMPORT_BATCH": int(os.environ.get("POLYLOG_IMPORT_BATCH", "200")),
    "THUMBNAIL_BATCH": int(os.environ.get("POLYLOG_THUMBNAIL_BATCH", "50")),
    # Exports (docs/api.md): one selecting at least this many items runs on the queue and leaves a download
    # that expires this many hours after it is made; smaller ones stream at once.
    "EXPORT_QUEUE_ITEMS": int(os.environ.get("POLYLOG_EXPORT_QUEUE_ITEMS", "5000")),
    "EXPORT_TTL_HOURS": float(os.environ.get("POLYLOG_EXPORT_TTL_HOURS", "24")),
    # Quality report (docs/review.md): a person's active time adds the gaps between their commands of a
    # day, each gap over this many seconds cut (a pause, not work).
    "QUALITY_IDLE_GAP_SECONDS": int(os.environ.get("POLYLOG_QUALITY_IDLE_GAP_SECONDS", "300")),
    # Operations (docs/operations.md): /metrics wants this bearer token when set; unset, it answers 404
    # unless METRICS_PUBLIC opens it. On SIGTERM a server has this long to finish what it has in flight.
    "METRICS_TOKEN": os.environ.get("POLYLOG_METRICS_TOKEN", ""),
    "METRICS_PUBLIC": env_bool("POLYLOG_METRICS_PUBLIC", False),
    "STOP_GRACE_SECONDS": float(os.environ.get("POLYLOG_STOP_GRACE_SECONDS", "10")),
}

# Assist (apps/assist, docs/assist.md): proposals at most this many at once per process (a request waits up
# to POLYLOG_ASSIST_WAIT_SECONDS for a turn, then 503 assist_busy); decoded images and edge maps kept in a
# per-process cache of this many MiB; proposals per user ("N/sec|min|hour", empty: no limit; then 429); the
# model server (empty: no Model tool) and how long one of its answers may take.
POLYLOG_ASSIST_CONCURRENCY = int(os.environ.get("POLYLOG_ASSIST_CONCURRENCY", "2"))
POLYLOG_ASSIST_WAIT_SECONDS = float(os.environ.get("POLYLOG_ASSIST_WAIT_SECONDS", "5"))
POLYLOG_ASSIST_CACHE_MB = float(os.environ.get("POLYLOG_ASSIST_CACHE_MB", "256"))
POLYLOG_ASSIST_RATE = os.environ.get("POLYLOG_ASSIST_RATE", "600/min")
POLYLOG_ASSIST_MODEL_URL = os.environ.get("POLYLOG_ASSIST_MODEL_URL", "")
POLYLOG_ASSIST_MODEL_TIMEOUT = float(os.environ.get("POLYLOG_ASSIST_MODEL_TIMEOUT", "10"))
# The model server's requests in flight per process (waiting on it holds no CPU slot), and a token it may
# ask for (sent as "Authorization: Bearer <token>"; empty: none). docs/assist.md, "The model server".
POLYLOG_ASSIST_MODEL_CONCURRENCY = int(os.environ.get("POLYLOG_ASSIST_MODEL_CONCURRENCY", "4"))
POLYLOG_ASSIST_MODEL_TOKEN = os.environ.get("POLYLOG_ASSIST_MODEL_TOKEN", "")

# Logs: plain text, or one JSON object a line with POLYLOG_LOG_FORMAT=json (apps/common/logs.py).
LOG_FORMAT = os.environ.get("POLYLOG_LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"POLYLOG_LOG_FORMAT is 'text' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "apps.common.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Django's own cap on the files of one multipart request follows ours (its default is 100).
DATA_UPLOAD_MAX_NUMBER_FILES = POLYLOG["MAX_UPLOAD_FILES"]
