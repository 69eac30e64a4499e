"""The one settings module. Everything variable comes from the environment.

With no variables set, Faultline runs embedded on one machine: SQLite (WAL),
an in-process channel layer, grading in a background thread, bubblewrap
sandboxes. Setting DATABASE_URL / REDIS_URL / CELERY_BROKER_URL switches to the
production shape: PostgreSQL, Redis-backed Channels, Celery workers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

from faultline.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_origins,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root
PLATFORM_DIR = BASE_DIR / "platform"
VAR_DIR = Path(env_str("FAULTLINE_VAR_DIR") or BASE_DIR / "var")
EXERCISES_DIR = Path(env_str("FAULTLINE_EXERCISES_DIR") or BASE_DIR / "exercises")

DEBUG = env_bool("DEBUG", default=False)

DATABASE_URL = env_url("DATABASE_URL", ("sqlite", "postgres", "postgresql"))
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", ("redis", "rediss", "amqp")) or REDIS_URL

# Production mode is any configuration with an external service in it.
EMBEDDED = DATABASE_URL is None and REDIS_URL is None and CELERY_BROKER_URL is None

_secret = env_str("SECRET_KEY")
if not _secret:
    if not EMBEDDED:
        raise ConfigError(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set in production mode "
            "(DATABASE_URL/REDIS_URL/CELERY_BROKER_URL are set)"
        )
    # Embedded mode keeps a generated key on disk so sessions survive a restart.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    _secret = key_file.read_text().strip()
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
# A page may use the site with its visitors' cookies (forms and websockets alike)
# only from the origin it was served at, or from one of these (e.g. the public
# https:// origin in front of a TLS-terminating proxy). See faultline.origins.
if "CSRF_TRUSTED_ORIGINS" in os.environ:
    raise ConfigError(
        "CSRF_TRUSTED_ORIGINS is now FAULTLINE_ORIGINS: one list governs forms and websockets"
    )
FAULTLINE_ORIGINS = env_origins("FAULTLINE_ORIGINS")
CSRF_TRUSTED_ORIGINS = FAULTLINE_ORIGINS

INSTALLED_APPS = [
    "accounts.apps.AdminsOnlyAdminConfig",  # django.contrib.admin, for superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "faultline",
    "accounts",
    "interviews",
    "grading",
    "review",
    "web",
    "preview",
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
]

ROOT_URLCONF = "faultline.urls"
ASGI_APPLICATION = "faultline.asgi.application"

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
            ],
        },
    },
]

if DATABASE_URL is None:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "faultline.sqlite3",
            "OPTIONS": {
                # WAL lets the grading thread write while pages read; the busy
                # timeout absorbs the short write locks between them.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Tests use a file, not SQLite's shared-cache memory database: that one
            # locks whole tables and fails at once when the grading thread writes
            # while the test reads. One file per process, so parallel runs never meet.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
else:
    _db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db.setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: with a broker, tasks go to worker processes; without one they run on
# an in-process thread pool (see grading.queue), never on the request path.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_TASK_DEFAULT_QUEUE = env_str("FAULTLINE_QUEUE") or "faultline"

SANDBOX_BACKEND = env_choice("SANDBOX_BACKEND", ("bwrap", "docker"), "bwrap")
# SANDBOX_DOCKER_RUNTIME (e.g. runsc) and the other sandbox settings are read by the
# sandbox package itself (sandbox/config.py), which knows nothing of Django.
# How many sandboxes one worker (or the embedded server) runs at once.
SANDBOX_SLOTS = env_int("SANDBOX_SLOTS", 2, minimum=1)
# Runs a candidate may start per minute, per interview.
# The live preview (platform/preview): the candidate's app, served on its own origin so
# its HTML and JavaScript never run on the platform's. Port 0: the platform's port + 1.
PREVIEW_PORT = env_int("FAULTLINE_PREVIEW_PORT", 0, minimum=0)
# The preview origin as browsers reach it: a host other than the platform's (cookies
# are per host, not per port); *.localhost resolves to this machine in browsers.
# Unset: http://preview.localhost:<preview port>, filled in by `manage.py serve`.
PREVIEW_ORIGIN = (env_str("FAULTLINE_PREVIEW_ORIGIN") or "").rstrip("/")
# Live sessions this web process runs at once (each is two sandbox parties).
LIVE_SESSIONS = env_int("FAULTLINE_LIVE_SESSIONS", 4, minimum=1)
# A live session nobody looked at for this long is stopped (it starts again on demand).
LIVE_IDLE_MINUTES = env_int("FAULTLINE_LIVE_IDLE_MINUTES", 10, minimum=1)

RUNS_PER_MINUTE = env_int("RUNS_PER_MINUTE", 6, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Invite links stay valid until the interview's scheduled end (its time, or now if
# that has passed, plus its duration) and then this many hours more.
INVITE_GRACE_HOURS = env_int("INVITE_GRACE_HOURS", 24, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
}
