"""Configuration, read from ``EVENTCRM_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTCRM_", env_file=".env", extra="ignore")

    #: SQLAlchemy async URL. PostgreSQL: ``postgresql+asyncpg://user@host:5432/db``.
    database_url: str = "sqlite+aiosqlite:///./var/eventcrm.db"
    #: PostgreSQL only: the schema to use (sets ``search_path``); default ``public``.
    database_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    database_pool_size: int = Field(default=10, ge=1, le=200)
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
    #: Largest request body accepted (413 above it); a route may be given more.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Longest URL (path and query string) accepted (414 above it). ``eventcrm
    #: serve`` itself refuses a request line or header block over 64 KiB.
    max_url_bytes: int = Field(default=32 * 1024, ge=256, le=60 * 1024)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # --- Email -------------------------------------------------------------
    #: ``file`` writes .eml files under ``outbox_dir`` (the embedded default);
    #: ``smtp`` and ``sendgrid`` send for real.
    email_provider: Literal["file", "smtp", "sendgrid"] = "file"
    #: The From header of every message: ``address`` or ``Name <address>``.
    email_from: str = Field(default="eventcrm <eventcrm@localhost>", min_length=3, max_length=320)
    #: Where links in messages point (unsubscribe links): this server's public URL.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://\S+$")
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

    @model_validator(mode="after")
    def _provider_is_configured(self) -> Settings:
        if self.email_provider == "sendgrid" and self.sendgrid_api_key is None:
            raise ValueError("EVENTCRM_SENDGRID_API_KEY is required when the provider is sendgrid")
        return self

    @property
    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
