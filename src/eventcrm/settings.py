"""Configuration, read from ``EVENTCRM_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventcrm.access.jwt_verifier import ASYMMETRIC_ALGORITHMS

#: ``scheme://host[:port]``, as browsers send it in ``Origin``.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")


#: Where links point when ``EVENTCRM_PUBLIC_URL`` is unset and no server says otherwise.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def _split(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTCRM_", env_file=".env", extra="ignore")

    #: SQLAlchemy async URL. PostgreSQL: ``postgresql+asyncpg://user@host:5432/db``.
    #: DynamoDB: ``dynamodb://TABLE_NAME`` (endpoint, region and credentials from the
    #: standard AWS variables and chain; see docs/dynamodb.md).
    database_url: str = "sqlite+aiosqlite:///./var/eventcrm.db"
    #: PostgreSQL only: the schema to use (sets ``search_path``); default ``public``.
    database_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    #: PostgreSQL: the most connections one process opens (kept once opened; a
    #: request that finds them all in use waits for one, up to 30 s, then 503).
    database_pool_size: int = Field(default=10, ge=1, le=200)
    #: DynamoDB: the most items one listing or count may read before it is refused
    #: (422 ``query_needs_sql_backend``); see docs/dynamodb.md.
    dynamodb_scan_limit: int = Field(default=10_000, ge=100, le=1_000_000)
    #: DynamoDB: how long a write waits for an event's lock before answering 503.
    dynamodb_lock_wait_seconds: float = Field(default=30.0, gt=0, le=300)
    #: SQLite: how long a writer waits for the lock before giving up.
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)
    #: Where the embedded defaults keep their files (the secret key, later the outbox).
    data_dir: Path = Path("var")
    #: Signs cursors and (later) unsubscribe tokens. When unset, a random key is
    #: created once in ``data_dir/secret.key``; set it explicitly when several
    #: processes or machines serve the same database.
    secret_key: str | None = Field(default=None, min_length=16)
    #: Region assumed for phone numbers written without a ``+country`` prefix
    #: (ISO 3166 alpha-2, e.g. ``US``). Unset: numbers must be international.
    default_phone_region: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    #: Whether viewers see contacts' email and phone number (hidden by default).
    viewer_sees_contact_details: bool = False
    #: How long a response is kept for retries with the same ``Idempotency-Key``.
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1, le=30 * 86_400)
    #: Most attendee registrations for one event taken in one transaction (group
    #: commit, docs/registrations.md); 1 gives every registration its own.
    registration_batch_size: int = Field(default=100, ge=1, le=1000)
    #: Largest request body accepted (413 above it); a route may be given more.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Longest URL (path and query string) accepted (414 above it). ``eventcrm
    #: serve`` itself refuses a request line or header block over 64 KiB.
    max_url_bytes: int = Field(default=32 * 1024, ge=256, le=60 * 1024)
    #: Where the API is served: ``/api/v1`` by default; empty serves it at the root
    #: (``/users``, ``/events``), as the earlier systems did. Health probes and the
    #: documentation stay where they are.
    api_prefix: str = Field(default="/api/v1", pattern=r"^(/[A-Za-z0-9._~-]+)*$", max_length=100)
    #: ``POST /users/send_email`` (a deprecated alias) sends the email template of this
    #: name; unset, a short built-in message.
    predefined_email_template: str | None = Field(default=None, min_length=1, max_length=200)
    #: Serve /docs, /redoc and /openapi.json (turn off in production if the API is private).
    docs_enabled: bool = True
    # --- Abuse limits (docs/security.md) ------------------------------------
    #: Requests per caller (an API key, or the client address when there is
    #: none) on every API route, in the ``limits`` notation: ``600/minute``,
    #: ``10/second;600/minute``.
    rate_limit: str = "600/minute"
    #: Extra budget of ``POST /events/{id}/registrations`` per caller.
    rate_limit_registrations: str = "60/minute"
    #: Extra budget of campaign send, retry-failed and ``POST /emails/send`` per caller.
    rate_limit_email: str = "10/minute;100/day"
    #: Where budgets are counted: unset keeps them in each process's memory;
    #: ``redis://host:6379/0`` shares them between processes and machines.
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://\S+$")
    #: Prefix of every key written to Redis (two deployments on one Redis).
    rate_limit_key_prefix: str = Field(default="eventcrm", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    #: Email recipients an organizer's key may queue per day (campaign sends,
    #: ``/emails/send``, retries).
    organizer_daily_recipients: int = Field(default=1000, ge=0)
    #: A campaign with more recipients than this is sent only with ``?confirm=true``.
    campaign_confirm_threshold: int = Field(default=1000, ge=0)
    #: Browser origins allowed to call the API (comma-separated, e.g.
    #: ``https://app.example,https://admin.example``); none by default.
    cors_origins: str = ""
    #: Trust ``X-Forwarded-Proto`` from the proxy in front (for HSTS).
    trust_proxy_headers: bool = False

    # --- Read cache and metrics (docs/caching.md) ---------------------------
    #: Seconds a verified API key is remembered by each process, sparing a
    #: database read per request; 0 turns it off. A revocation applies at once
    #: in the process that made it and within this many seconds in any other
    #: (docs/security.md).
    api_key_cache_seconds: float = Field(default=5, ge=0, le=5)
    #: Seconds an event read (``GET /events/{id}``) stays cached; 0 turns it off.
    #: Every write that changes it invalidates it at once (memory, or Redis with
    #: ``redis_url``, shared by all processes).
    event_cache_ttl_seconds: float = Field(default=600, ge=0, le=86_400)
    #: Seconds an event listing (``GET /events``) stays cached; 0 turns it off.
    event_list_cache_ttl_seconds: float = Field(default=300, ge=0, le=86_400)
    #: Serve ``/metrics`` (Prometheus text format) to callers on this machine
    #: (loopback); from elsewhere it needs an administrator key.
    metrics_enabled: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # --- Email -------------------------------------------------------------
    #: ``file`` writes .eml files under ``outbox_dir`` (the embedded default);
    #: ``smtp`` and ``sendgrid`` send for real.
    email_provider: Literal["file", "smtp", "sendgrid"] = "file"
    #: The From header of every message: ``address`` or ``Name <address>``.
    email_from: str = Field(default="eventcrm <eventcrm@localhost>", min_length=3, max_length=320)
    #: Where links in messages point (unsubscribe links): this server's public URL.
    #: Unset: ``eventcrm serve`` sets it from the address it listens on; elsewhere
    #: (a separate ``eventcrm worker``) it is ``DEFAULT_PUBLIC_URL``.
    public_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    outbox_dir: Path = Path("var/outbox")
    smtp_host: str = "localhost"
    #: Default: 25 for ``none``, 587 for ``starttls``, 465 for ``tls``.
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    #: CA certificates to trust for the SMTP server (a relay with a private CA).
    smtp_ca_file: Path | None = None
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = Field(default="https://api.sendgrid.com", pattern=r"^https?://\S+$")

    # --- Template rendering (preview and the worker) ------------------------
    #: Characters in any rendered part, and in any string or list built while rendering.
    template_max_output_chars: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Loop iterations, calls and filters per render.
    template_max_steps: int = Field(default=100_000, ge=100, le=10_000_000)
    #: Wall-clock seconds one render may take (it runs in a worker thread).
    template_render_timeout_seconds: float = Field(default=1.0, gt=0, le=60)

    # --- The sending worker ------------------------------------------------
    #: Deliveries claimed per batch; also the most a crash can send twice.
    worker_batch_size: int = Field(default=100, ge=1, le=5000)
    #: Messages in flight at once per worker process (one connection each).
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    #: Seconds between polls when nothing is due.
    worker_poll_interval: float = Field(default=1.0, gt=0, le=60)
    #: Attempts before a transiently failing delivery is marked failed.
    worker_max_attempts: int = Field(default=5, ge=1, le=50)
    #: Messages per second per worker process (unset: as fast as the provider takes them).
    worker_send_rate: float | None = Field(default=None, gt=0)
    #: How long a claimed batch is reserved; a crashed worker's batch is reclaimed after it.
    worker_lease_seconds: float = Field(default=300.0, gt=0)
    #: First retry delay; doubles per attempt (with jitter), capped at an hour.
    worker_retry_base_seconds: float = Field(default=30.0, ge=0)
    #: Run one worker inside the API server process (``eventcrm serve`` turns it on).
    embedded_worker: bool = False
    #: AWS Lambda (``eventcrm.lambda_handler.worker_handler``): the most seconds one
    #: scheduled invocation drains deliveries for; it always stops short of the
    #: function's timeout as well.
    worker_time_budget_seconds: float = Field(default=50.0, gt=0, le=900)

    # --- JWTs from an identity provider (all three of issuer, audience, JWKS URL) ---
    #: The ``iss`` tokens must carry, e.g. ``https://cognito-idp.<region>.amazonaws.com/<pool>``.
    jwt_issuer: str | None = None
    #: The ``aud`` tokens must carry (the API's identifier or client id).
    jwt_audience: str | None = None
    #: Where the provider publishes its signing keys (JWKS).
    jwt_jwks_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    #: Accepted signature algorithms, comma-separated; public-key ones only.
    jwt_algorithms: str = Field(default="RS256", pattern=r"^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")
    #: The claim holding the role (admin, organizer or viewer; a list: the strongest).
    jwt_role_claim: str = Field(default="eventcrm_role", min_length=1)
    #: The claim holding an organizer's contact id.
    jwt_user_id_claim: str = Field(default="eventcrm_user_id", min_length=1)
    #: Clock skew tolerated on a token's exp and nbf.
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300)

    @model_validator(mode="after")
    def _jwt_is_complete(self) -> Settings:
        given = [self.jwt_issuer, self.jwt_audience, self.jwt_jwks_url]
        if any(given) and not all(given):
            raise ValueError(
                "EVENTCRM_JWT_ISSUER, EVENTCRM_JWT_AUDIENCE and EVENTCRM_JWT_JWKS_URL "
                "go together: set all three, or none"
            )
        refused = set(self.jwt_algorithm_list) - ASYMMETRIC_ALGORITHMS
        if refused:
            raise ValueError(
                "EVENTCRM_JWT_ALGORITHMS may only name public-key algorithms, "
                f"not {sorted(refused)}"
            )
        return self

    @property
    def jwt_algorithm_list(self) -> tuple[str, ...]:
        return tuple(self.jwt_algorithms.split(","))

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt_jwks_url is not None

    @model_validator(mode="after")
    def _provider_is_configured(self) -> Settings:
        if self.email_provider == "sendgrid" and self.sendgrid_api_key is None:
            raise ValueError("EVENTCRM_SENDGRID_API_KEY is required when the provider is sendgrid")
        return self

    @field_validator("rate_limit", "rate_limit_registrations", "rate_limit_email")
    @classmethod
    def _is_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a rate limit: write it as '600/minute' or '10/second;600/hour'"
            ) from exc
        return value

    @field_validator("cors_origins")
    @classmethod
    def _are_origins(cls, value: str) -> str:
        for origin in _split(value):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example")
        return value

    @property
    def allowed_origins(self) -> list[str]:
        return _split(self.cors_origins)

    @property
    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    @property
    def links_url(self) -> str:
        """The public URL links are built on."""
        return (self.public_url or DEFAULT_PUBLIC_URL).rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_dynamodb(self) -> bool:
        return self.database_url.startswith("dynamodb://")

    @property
    def dynamodb_table(self) -> str:
        """The table of a ``dynamodb://TABLE_NAME`` URL."""
        return self.database_url.removeprefix("dynamodb://").strip("/")
