"""The only settings module. Everything that differs between a laptop and production comes from
`MENTIONDESK_*` environment variables; the defaults suit a laptop (SQLite under ./var/)."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"MENTIONDESK_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, "1" if default else "0").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"MENTIONDESK_{name}={value!r} is not a boolean (use 1 or 0)")


DATA_DIR = Path(env("DATA_DIR", str(Path.cwd() / "var"))).resolve()
DEBUG = env_bool("DEBUG")
TESTING = "pytest" in sys.modules

# A fixed key is only acceptable on a laptop: `mentiondesk check --deploy` fails on it, and
# `mentiondesk serve` refuses it on an address other machines reach (warns on loopback).
INSECURE_SECRET_KEY = "insecure-mentiondesk-dev-key-set-MENTIONDESK_SECRET_KEY"  # noqa: S105
SECRET_KEY = env("SECRET_KEY") or INSECURE_SECRET_KEY

ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    # django-ninja's own app: /api/v1/docs then serves the Swagger UI it bundles from our
    # static files (whitenoise) instead of loading it from a CDN (CSP, offline installs).
    "ninja",
    "mentiondesk.core",
    "mentiondesk.accounts",
    "mentiondesk.channels",
    "mentiondesk.tickets",
    "mentiondesk.replies",
    "mentiondesk.policy",
    "mentiondesk.audit",
    "mentiondesk.reports",
    "mentiondesk.costs",
    "mentiondesk.triage",
    "mentiondesk.incidents",
    "mentiondesk.sla",
    "mentiondesk.sandbox",
    "mentiondesk.integrations.slack",
    "mentiondesk.integrations.evidence",
    "mentiondesk.integrations.previews",
    "mentiondesk.ops",
    "mentiondesk.webhooks",
    "mentiondesk.intake",
    "mentiondesk.desk",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "mentiondesk.core.logs.RequestIdMiddleware",
    # A NUL anywhere in what a client sends is a 400 before any view or database sees it.
    "mentiondesk.core.middleware.nul_refusing_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mentiondesk.desk.urls"
WSGI_APPLICATION = "mentiondesk.wsgi.application"

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
                "mentiondesk.desk.context_processors.desk",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    """Parse a MENTIONDESK_DATABASE_URL (`sqlite:////abs/path.db`, `postgres://user@host/db`)."""
    try:
        # Connections are kept for a minute; each request checks its connection first
        # (CONN_HEALTH_CHECKS), so one PostgreSQL dropped (restart, failover,
        # pg_terminate_backend) costs a reconnect, not a 500 on every web thread holding it.
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"MENTIONDESK_DATABASE_URL={url!r}: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers work while the worker writes; IMMEDIATE makes every atomic block
        # take the write lock up front, which is what makes play mode atomic on SQLite.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif pool_size := _pool_size():
        # psycopg's pool (Django 5.2, psycopg[pool]): each request or task borrows one of at
        # most `pool_size` connections of its process and gives it back, so a web process's
        # threads share a few connections instead of keeping one each. Django refuses a pool
        # with CONN_MAX_AGE; CONN_HEALTH_CHECKS becomes the pool's check of each connection it
        # hands out (a connection PostgreSQL dropped is replaced, never handed to a request).
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            **config.get("OPTIONS", {}),
            "pool": {"min_size": min(2, pool_size), "max_size": pool_size, "timeout": 10},
        }
    return config


def _pool_size() -> int:
    """MENTIONDESK_DATABASE_POOL: connections per process in a psycopg pool, 0 for none."""
    value = env("DATABASE_POOL", "0")
    try:
        size = int(value)
    except ValueError:
        size = -1
    if size < 0:
        raise ImproperlyConfigured(f"MENTIONDESK_DATABASE_POOL={value!r}: a number of connections")
    return size


# Not kept as a setting of its own: Django's debug page lists settings, and the URL may hold
# the database password (the DATABASES entry's PASSWORD is masked there).
DATABASES = {
    "default": database_from_url(env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'mentiondesk.db'}"))
}
if TESTING and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: crash tests run real worker processes against the test database.
    # One per test run, so two runs side by side never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.db")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tickets:queue"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True


def time_zone_setting(name: str, default: str) -> str:
    """A MENTIONDESK_* time zone name, checked against the IANA database at start-up."""
    value = env(name, default).strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"MENTIONDESK_{name}={value!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)"
        ) from None
    return value


# Reports count tickets per day and per hour of the day on this zone's clock (reports/).
REPORTS_TIME_ZONE = time_zone_setting("REPORTS_TIME_ZONE", TIME_ZONE)

STATIC_URL = "/static/"
# Only for `collectstatic` behind another web server; whitenoise serves from the apps otherwise.
STATIC_ROOT = env("STATIC_ROOT") or None
# Serve straight from the apps' static folders: no collectstatic step before the demo runs.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The desk's page in its layout (Django's has an inline style), and no page swapped into a
# panel when a poll's form expired.
CSRF_FAILURE_VIEW = "mentiondesk.desk.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Everything the pages load is ours: no inline scripts or styles, no eval (htmx is configured
# for that in base.html), nothing from a CDN. Text from the network can therefore not run even
# if escaping were ever missed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

# The reverse proxy's address (`mentiondesk serve` trusts its X-Forwarded-Proto and -For, and
# nobody else's). Behind TLS (MENTIONDESK_HTTPS=1): send cookies only over TLS and tell
# browsers to stay on HTTPS (HSTS). Off for the laptop demo, where HSTS on 127.0.0.1 would
# break every other local app.
TRUSTED_PROXY = env("TRUSTED_PROXY")
HTTPS = env_bool("HTTPS")
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS")

# Login throttling (django-axes, counted in the database so every web process sees the same
# failures): after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that
# pair waits LOGIN_COOLOFF_MINUTES. By pair, so a stranger cannot lock a colleague out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Background work: the database backend everywhere, so a reply queued by the web process is
# delivered by whichever worker is running. Tests switch to the immediate backend.
TASKS = {
    "default": {
        "BACKEND": env(
            "TASKS_BACKEND",
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default", "outbox", "ingest"],
    }
}

# Where people reach the desk: links in Slack messages and exports point here.
BASE_URL = env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Networks and integrations.
X_API_URL = env("X_API_URL", "https://api.x.com").rstrip("/")
# Where "View on X" and profile links go: the network's web pages. The demo points it (and
# BLUESKY_WEB_URL) at its sandbox network, so no link on its pages leads to the real one.
X_WEB_URL = env("X_WEB_URL", "https://x.com").rstrip("/")
BLUESKY_WEB_URL = env("BLUESKY_WEB_URL", "https://bsky.app").rstrip("/")
# The app's consumer secret (API secret key): signs the webhook CRC answer and checks every
# event POST. Unset, /webhooks/x is off and polling alone brings mentions in.
X_CONSUMER_SECRET = env("X_CONSUMER_SECRET")
X_TIMEOUT_SECONDS = float(env("X_TIMEOUT_SECONDS", "10"))
# The X app's OAuth 2.0 client: refreshes the handles' stored access tokens (they last two
# hours) through POST {X_API_URL}/2/oauth2/token. No secret: a public client (PKCE app).
X_CLIENT_ID = env("X_CLIENT_ID")
X_CLIENT_SECRET = env("X_CLIENT_SECRET")
# Fernet keys, comma-separated: the first encrypts, every one decrypts (rotation). Read and
# checked where credentials are stored or read (channels.credentials), and by `mentiondesk check`.
CREDENTIALS_KEY = env("CREDENTIALS_KEY")
# How often `mentiondesk worker` polls each handle's mentions (seconds). Unset: each handle's
# interval is made from its network's rate limit and the handles sharing its token, 15 s at
# least (channels.selectors.handle_poll_interval).
POLL_INTERVAL_SECONDS: float | None = (
    float(env("POLL_INTERVAL_SECONDS")) if env("POLL_INTERVAL_SECONDS") else None
)
# Webhook events make the worker poll their handle at most once per this many seconds on
# average, and up to WEBHOOK_POLL_BURST times in a row after a quiet spell (so a quiet desk's
# mentions are each read at once), so a flood of events (or of replays) cannot spend the
# handle's rate-limit window and the X budget: X allows 300 mentions reads per 15 min per user;
# events take at most 180 + the burst, the periodic poll 60 at 15 s. Events in between lose
# nothing: the worker polls the handle when the pace allows (the next periodic poll, with a
# task backend that cannot wait), reading everything since the checkpoint.
WEBHOOK_POLL_MIN_SECONDS = max(0.0, float(env("WEBHOOK_POLL_MIN_SECONDS", "5")))
WEBHOOK_POLL_BURST = max(1, int(env("WEBHOOK_POLL_BURST", "6")))
# A poll stores the pages it reads in batches, one transaction each: of about this many posts,
# or of the pages read within this many seconds, whichever comes first (intake/store.py). Fewer
# commits for a backlog; what a slow read brings is not kept from the queue longer than that.
INGEST_BATCH_POSTS = max(1, int(env("INGEST_BATCH_POSTS", "1000")))
INGEST_BATCH_SECONDS = max(0.0, float(env("INGEST_BATCH_SECONDS", "0.2")))
# How often `mentiondesk worker` sweeps the outbox for replies whose retry time came (after a
# rate limit's reset, a backoff) or whose sender died (seconds).
OUTBOX_SWEEP_SECONDS = float(env("OUTBOX_SWEEP_SECONDS", "15"))
# A reply whose send started this long ago without a recorded outcome is reconciled.
OUTBOX_LEASE_SECONDS = float(env("OUTBOX_LEASE_SECONDS", "60"))
if OUTBOX_LEASE_SECONDS <= X_TIMEOUT_SECONDS:
    # Otherwise a second worker could take over a send that is still waiting for X's answer.
    raise ImproperlyConfigured(
        "MENTIONDESK_OUTBOX_LEASE_SECONDS must be longer than MENTIONDESK_X_TIMEOUT_SECONDS"
    )
# Reconciling a send with an unknown outcome reads our timeline (GET /2/users/:id/tweets,
# 100 posts a page) back to the post the reply answers, at most this many pages. Each page is
# one metered, rate-limited X request (the recorded answers announce 1,500 per 15 minutes);
# 10 pages is the desk's last 1,000 posts, minutes of a busy desk's sending.
RECONCILE_MAX_PAGES = max(1, int(env("RECONCILE_MAX_PAGES", "10")))
# `mentiondesk import`: what it keeps in memory is bounded by these, whatever the file's size.
# Rows parsed ahead and staged per batch (X pages: a twentieth of it, their items carry the
# raw JSON); at most three batches are in memory at once (one parsing, one waiting, one
# being staged).
IMPORT_BATCH_ROWS = max(1, int(env("IMPORT_BATCH_ROWS", "5000")))
# SQLite's page cache while importing (MB, for the database and the TEMP tables together):
# below the size of the indexes being written pages spill and are written again, above it
# the process's memory grows with the file. SQLite's sorts (index builds, the search
# documents' ORDER BY) take up to the database's share again before spilling to disk: peak
# RSS is about 150 MB + this + 3/4 of it, under 500 MB (bench/RESULTS.md, issue 21 item 3).
IMPORT_CACHE_MB = max(8, int(env("IMPORT_CACHE_MB", "160")))
# A running background task whose worker process has not been seen for this long (its
# heartbeat is written every few seconds) was lost with that process: it is marked failed.
TASK_WORKER_GONE_SECONDS = float(env("TASK_WORKER_GONE_SECONDS", "60"))

# Slack: escalations, spam reports and retweet suggestions go out through the Slack outbox.
# The bot token comes only from the environment.
SLACK_ENABLED = env_bool("SLACK_ENABLED")
SLACK_API_URL = env("SLACK_API_URL", "https://slack.com/api/")
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN")
# One request to Slack may wait this long; the worker, never an agent, is the one waiting.
SLACK_TIMEOUT_SECONDS = float(env("SLACK_TIMEOUT_SECONDS", "10"))
# Retries wait SLACK_RETRY_BASE_SECONDS * 2^(attempt-1), at most SLACK_RETRY_MAX_SECONDS;
# after SLACK_MAX_ATTEMPTS tries a message is marked failed with the reason.
SLACK_RETRY_BASE_SECONDS = float(env("SLACK_RETRY_BASE_SECONDS", "30"))
SLACK_RETRY_MAX_SECONDS = float(env("SLACK_RETRY_MAX_SECONDS", "3600"))
SLACK_MAX_ATTEMPTS = int(env("SLACK_MAX_ATTEMPTS", "8"))


def slack_settings_check(*, enabled: bool, token: str) -> None:
    """Refuse to start with Slack enabled but no bot token (STYLE: fail at startup)."""
    if enabled and not token.strip():
        raise ImproperlyConfigured(
            "MENTIONDESK_SLACK_ENABLED=1 needs MENTIONDESK_SLACK_BOT_TOKEN (a bot token, "
            "xoxb-...); set it or set MENTIONDESK_SLACK_ENABLED=0"
        )


slack_settings_check(enabled=SLACK_ENABLED, token=SLACK_BOT_TOKEN)

# Link previews: the worker expands links in mentions (title + domain) so agents see where a
# link goes without visiting it. Each fetch is one GET per hop to a public address only; see
# integrations/previews/fetch.py.
LINKS_ENABLED = env_bool("LINKS_ENABLED", default=True)
# The whole fetch of one link, DNS and redirects included.
LINKS_TIMEOUT_SECONDS = float(env("LINKS_TIMEOUT_SECONDS", "3"))
LINKS_MAX_REDIRECTS = int(env("LINKS_MAX_REDIRECTS", "5"))
# At most this much of a page is read; the title lives in its head.
LINKS_MAX_BYTES = int(env("LINKS_MAX_BYTES", str(512 * 1024)))
# Also fetch links to private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), for
# a desk whose community links to an intranet. Loopback, link-local and cloud metadata
# addresses stay refused regardless.
LINKS_ALLOW_PRIVATE = env_bool("LINKS_ALLOW_PRIVATE")
# The demo's offline web (sandbox/web.py): when set, every hop of every preview is sent to
# this one local server, with the link's own name in the Host header, and no name is resolved.
# Set in-process by `mentiondesk demo` only; deliberately no environment variable, so a
# production desk cannot be pointed away from the links' real hosts by configuration.
LINKS_OFFLINE_WEB_URL = ""

# Evidence for the ticket panel: read-only look-ups in the status page, the issue tracker, the
# forum and the support helpdesk, cached in the database (integrations/evidence/). Each source
# is off while its URL is unset; a failing one shows its error in the panel and nowhere else.
# All the look-ups for one post share this many seconds.
EVIDENCE_BUDGET_SECONDS = float(env("EVIDENCE_BUDGET_SECONDS", "8"))
# After a timeout or an error (not a 429, which says how long), a source is left alone this long.
EVIDENCE_ERROR_CACHE_SECONDS = float(env("EVIDENCE_ERROR_CACHE_SECONDS", "30"))

# Status page: an Atlassian-Statuspage-compatible page (https://status.example.com); public API.
STATUSPAGE_URL = env("STATUSPAGE_URL").strip().rstrip("/")
STATUSPAGE_TIMEOUT_SECONDS = float(env("STATUSPAGE_TIMEOUT_SECONDS", "3"))
STATUSPAGE_CACHE_SECONDS = float(env("STATUSPAGE_CACHE_SECONDS", "300"))

# Issue tracker: a GitLab instance (https://gitlab.example.com) and the projects to search,
# comma-separated paths ("driftwood/app,driftwood/runner"); the first is where "open a new
# issue" points. The token (read_api) is needed only for private projects.
GITLAB_URL = env("GITLAB_URL").strip().rstrip("/")
GITLAB_TOKEN = env("GITLAB_TOKEN").strip()
GITLAB_PROJECTS = [p.strip().strip("/") for p in env("GITLAB_PROJECTS").split(",") if p.strip()]
GITLAB_TIMEOUT_SECONDS = float(env("GITLAB_TIMEOUT_SECONDS", "3"))
GITLAB_CACHE_SECONDS = float(env("GITLAB_CACHE_SECONDS", "300"))

# Forum: a Discourse forum (https://forum.example.com); public search, no key. The category
# link shared when no topic fits defaults to the forum's front page.
DISCOURSE_URL = env("DISCOURSE_URL").strip().rstrip("/")
DISCOURSE_CATEGORY_URL = env("DISCOURSE_CATEGORY_URL").strip()
DISCOURSE_TIMEOUT_SECONDS = float(env("DISCOURSE_TIMEOUT_SECONDS", "3"))
DISCOURSE_CACHE_SECONDS = float(env("DISCOURSE_CACHE_SECONDS", "300"))

# Support helpdesk: a Zendesk instance (https://example.zendesk.com), searched for solved
# tickets as an agent: basic auth with the agent's email and an API token.
ZENDESK_URL = env("ZENDESK_URL").strip().rstrip("/")
ZENDESK_EMAIL = env("ZENDESK_EMAIL").strip()
ZENDESK_TOKEN = env("ZENDESK_TOKEN").strip()
ZENDESK_TIMEOUT_SECONDS = float(env("ZENDESK_TIMEOUT_SECONDS", "3"))
ZENDESK_CACHE_SECONDS = float(env("ZENDESK_CACHE_SECONDS", "300"))


def evidence_settings_check(
    *,
    gitlab_url: str,
    gitlab_projects: list[str],
    zendesk_url: str,
    zendesk_email: str,
    zendesk_token: str,
) -> None:
    """Refuse to start with a source half configured (STYLE: fail at startup)."""
    if gitlab_url and not gitlab_projects:
        raise ImproperlyConfigured(
            "MENTIONDESK_GITLAB_URL needs MENTIONDESK_GITLAB_PROJECTS (comma-separated project "
            "paths, e.g. driftwood/app); set it or unset MENTIONDESK_GITLAB_URL"
        )
    if zendesk_url and not (zendesk_email and zendesk_token):
        raise ImproperlyConfigured(
            "MENTIONDESK_ZENDESK_URL needs MENTIONDESK_ZENDESK_EMAIL and MENTIONDESK_ZENDESK_TOKEN "
            "(an agent's email and an API token); set them or unset MENTIONDESK_ZENDESK_URL"
        )


evidence_settings_check(
    gitlab_url=GITLAB_URL,
    gitlab_projects=GITLAB_PROJECTS,
    zendesk_url=ZENDESK_URL,
    zendesk_email=ZENDESK_EMAIL,
    zendesk_token=ZENDESK_TOKEN,
)

# Prometheus scrapes /metrics with this bearer token; unset, /metrics is off.
METRICS_TOKEN = env("METRICS_TOKEN")
LOG_FORMAT = env("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"MENTIONDESK_LOG_FORMAT={LOG_FORMAT!r}: use plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "mentiondesk.core.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        # One JSON object a line; `extra` fields (status, duration_ms, ...) come along.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["asctime", "levelname", "name", "message", "request_id", "ticket_id"],
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "loggers": {
        "mentiondesk": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
        "django_tasks": {"handlers": ["console"], "level": "WARNING"},
        # Unhandled exceptions in requests, with their traceback. Django's default sends them
        # only to `mail_admins` when DEBUG is off, so a 500 otherwise left no trace at all.
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        # One line per request (method, path, status, duration_ms).
        "mentiondesk.request": {"level": "INFO" if env_bool("ACCESS_LOG", True) else "WARNING"},
    },
}
