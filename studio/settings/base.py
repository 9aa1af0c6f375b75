"""Core Django settings."""
from __future__ import annotations

import secrets
from pathlib import Path

from studio.settings.env import BASE_DIR, VAR_DIR, env_bool, env_list, env_str

__all__ = [
    "ALLOWED_HOSTS", "AUTH_PASSWORD_VALIDATORS", "BASE_DIR", "CSRF_TRUSTED_ORIGINS", "DEBUG",
    "DEFAULT_AUTO_FIELD", "FRONTEND_DIST", "INSTALLED_APPS", "LANGUAGE_CODE", "LOGGING",
    "MIDDLEWARE", "REST_FRAMEWORK", "ROOT_URLCONF", "SECRET_KEY", "SPECTACULAR_SETTINGS",
    "STATIC_ROOT", "STATIC_URL", "TEMPLATES", "TIME_ZONE", "USE_TZ", "VAR_DIR", "WHITENOISE_ROOT",
    "ASGI_APPLICATION", "STUDIO_DATA_DIR", "STUDIO_RUNS_DIR", "STUDIO_DEPLOYMENTS_DIR",
]


def _secret_key() -> str:
    """Use DJANGO_SECRET_KEY, else a key generated once and kept in the state folder."""
    configured = env_str("DJANGO_SECRET_KEY", "")
    if configured:
        return configured
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "studio.core",
    "studio.access",
    "studio.pipelines",
    "studio.runs",
    "studio.catalog",
    "studio.lineage",
    "studio.connections",
    "studio.audit",
    "studio.embedded",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.audit.context.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The built editor (frontend/dist) is served at the site root; its assets are hashed by Vite.
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.exists() else None

# Relative paths in pipelines (sources, sinks) resolve against the data folder: the landing zone.
STUDIO_DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(VAR_DIR / "data"))).resolve()
# Each run keeps its generated job and working files here.
STUDIO_RUNS_DIR = VAR_DIR / "runs"
# Each streaming deployment keeps its state (checkpoints, savepoints) here; with a cluster on several
# machines, a folder they all mount.
STUDIO_DEPLOYMENTS_DIR = Path(env_str("STUDIO_DEPLOYMENTS_DIR", str(VAR_DIR / "deployments"))).resolve()

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "studio.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

_API_DESCRIPTION = """Everything the browser does, for automation.

**Authentication.** Browsers use the session cookie (`POST /api/auth/login/`); `GET /api/auth/csrf/`
sets the `csrftoken` cookie, which every unsafe request sends back as the `X-CSRFToken` header.
Scripts get a token from `POST /api/auth/token/` and send `Authorization: Token <token>`.

**Errors** are always JSON: `{"detail": "sentence"}` for request-level errors (401, 403, 404, 405,
409, 500), `{"field": ["sentence", ...]}` for invalid fields (400), and a validation result
(`{"valid": false, "errors": [Diagnostic], "warnings": [Diagnostic]}`) for a pipeline document
that must be valid (400). Objects in workspaces the user is not a member of answer 404.

**Websocket: live runs.** `ws(s)://<host>/ws/runs/{id}/`, authenticated by the session cookie;
closes with code 4404 for a run the user may not see. The server sends JSON messages:

- `{"type": "run.status", "run": Run, "nodes": [RunNode], "event"?: RunEvent}` on connect and on
  every status change (with the transition);
- `{"type": "run.log", "lines": [LogLine]}` with new log lines as the job prints them;
- `{"type": "run.metrics", "status", "nodes": [RunNode]}` when the job reports new metrics;
- `{"type": "run.alert", "alerts": [{"node", "severity", "message", "at", "seq"?}]}` as alerts are raised.

`Run`, `RunNode`, `RunEvent` and `LogLine` are the schemas of the same names below.
"""

SPECTACULAR_SETTINGS = {
    "TITLE": "Pipeline Studio API",
    "DESCRIPTION": _API_DESCRIPTION,
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "TAGS": [
        {"name": "auth", "description": "Log in and out, tokens for scripts, the current user."},
        {"name": "workspaces", "description": "Workspaces, their members and roles (viewer < editor < operator < admin)."},
        {"name": "users", "description": "User accounts: admins look them up, instance superusers create them."},
        {"name": "connections", "description": "Kafka, S3, database and webhook connections; secrets are write-only."},
        {"name": "audit", "description": "The append-only audit log: who changed what, when, before and after."},
        {"name": "pipelines", "description": "Pipelines in the user's workspaces."},
        {"name": "versions", "description": "Immutable pipeline versions, saved with optimistic concurrency."},
        {"name": "compiler", "description": "Validate and compile documents without saving them."},
        {"name": "runs", "description": "Start, watch and cancel runs (live updates: see the websocket above)."},
        {"name": "deployments", "description": "Streaming pipelines kept running: stop, start, upgrade, throughput."},
        {"name": "webhooks", "description": "Where the alerts of a workspace's or pipeline's runs are POSTed."},
        {"name": "files", "description": "The landing zone (data folder): list files, infer schemas."},
        {"name": "catalog", "description": "Datasets: search, schema history, snapshots, rows (PII masked), curation."},
        {"name": "lineage", "description": "Dataset and column lineage, impact analysis, OpenLineage events."},
        {"name": "quality", "description": "transform.quality results per run and per dataset; quarantined rows."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "studio.runs.models.RunStatus",
        "EngineEnum": "studio.runs.models.Engine",
        "LogLevelEnum": "studio.runs.models.LogLevel",
        "RoleEnum": "studio.access.models.Role",
        "SeverityEnum": ["error", "warning"],
        "FileFormatEnum": ["csv", "json", "parquet"],
        "DatasetKindEnum": "studio.catalog.models.DatasetKind",
        "ConnectionKindEnum": "studio.connections.kinds.KINDS",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
