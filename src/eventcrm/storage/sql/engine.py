"""Engine creation, with the per-backend settings that correctness depends on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from eventcrm.errors import Busy

#: Execution option a write transaction sets so SQLite takes the write lock up front.
WRITE_OPTION = "eventcrm_write"


def create_engine(
    url: str,
    *,
    schema: str | None = None,
    pool_size: int = 10,
    sqlite_busy_timeout: float = 30.0,
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, sqlite_busy_timeout)
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": f"{schema}, public"}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "handle_error", _translate_transient_errors)
    return engine


#: PostgreSQL SQLSTATEs that mean "retry me": serialization failure, deadlock,
#: lock not available (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def _translate_transient_errors(context: ExceptionContext) -> None:
    original = context.original_exception
    sqlstate = getattr(original, "sqlstate", None) or getattr(
        getattr(original, "__cause__", None), "sqlstate", None
    )
    locked = "database is locked" in str(original)  # SQLite, after busy_timeout
    if sqlstate in _RETRYABLE_SQLSTATES or locked:
        raise Busy(
            "The request collided with concurrent changes and was rolled back; retry it."
        ) from original


def _sqlite_engine(url: str, database: str | None, busy_timeout: float) -> AsyncEngine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints in WAL mode
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the database's single write lock at BEGIN: a
        # read-then-write transaction can then never fail half-way with
        # "database is locked"; other writers wait up to busy_timeout.
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine.sync_engine, "handle_error", _translate_transient_errors)
    return engine
