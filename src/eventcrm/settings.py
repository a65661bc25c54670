"""Configuration, read from ``EVENTCRM_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
