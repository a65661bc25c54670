"""Engine creation, with the per-backend settings that correctness depends on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from eventcrm.errors import Busy, DomainError, Unavailable

#: Execution option a write transaction sets so SQLite takes the write lock up front.
WRITE_OPTION = "eventcrm_write"
#: Execution option of a read unit of work's connection: no transaction (SQLite
#: runs each statement on its own; PostgreSQL reads use AUTOCOMMIT).
READ_OPTION = "eventcrm_read"

#: A pooled PostgreSQL connection idle for longer than this is pinged before use;
#: one used more recently is trusted. Firewalls, NAT tables and proxies drop idle
#: TCP connections after minutes, not seconds; a connection that broke while in
#: use (a server restart, an outage) is caught by the driver's error, which
#: invalidates the whole pool (``handle_error`` below), so the next checkout
#: connects afresh.
IDLE_PING_SECONDS = 30.0
#: Connections are replaced after this long whatever their state (server-side
#: memory growth, a primary that moved behind a DNS name).
POOL_RECYCLE_SECONDS = 1800
_IDLE_SINCE = "eventcrm_idle_since"


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
    if "ssl" not in parsed.query and not os.environ.get("PGSSLMODE"):
        # asyncpg's default is sslmode=prefer: every new connection first asks a
        # server without TLS for it (and builds an SSL context to do so). TLS is
        # used when asked for: `?ssl=require` (or verify-full, ...) in the URL,
        # or PGSSLMODE.
        connect_args["ssl"] = False
    engine = create_async_engine(
        url,
        # At most pool_size connections, opened as needed and kept: an overflow
        # connection is closed when it is returned, so a load just above the pool
        # opened and closed a PostgreSQL connection (a server process) per request.
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping on every checkout (a round trip per transaction): only
        # connections idle for a while are pinged (_ping_if_idle).
        pool_pre_ping=False,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkin", _mark_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle(engine.sync_engine.dialect))
    event.listen(engine.sync_engine, "handle_error", _translate_transient_errors)
    return engine


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Any) -> Any:
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise sa_exc.DisconnectionError("an idle pooled connection was dropped") from error

    return on_checkout


#: PostgreSQL SQLSTATEs that mean "the server cannot be used right now": the
#: connection exception class (08), shutdown or start-up in progress (57P01-57P03)
#: and too many connections (53300).
_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLite: the database file (or its directory) is gone or cannot be read.
_SQLITE_UNREACHABLE = ("unable to open database file", "disk I/O error")


def _sqlstate(error: BaseException) -> str | None:
    sqlstate = getattr(error, "sqlstate", None) or getattr(error.__cause__, "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached, as opposed to a
    bad statement: refused, reset or timed-out connections, a server shutting
    down, an exhausted pool, a SQLite file that cannot be opened."""
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
    if isinstance(error, sa_exc.TimeoutError | OSError):  # pool checkout; socket errors
        return True
    sqlstate = _sqlstate(error)
    if sqlstate is not None and (sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES):
        return True
    message = str(error)
    return "connection is closed" in message or any(m in message for m in _SQLITE_UNREACHABLE)


@contextmanager
def unreachable_as_unavailable() -> Iterator[None]:
    """Connection set-up errors that bypass the ``handle_error`` hook (asyncpg
    raises ``OSError`` from connect; the pool raises its own time-out) become
    ``Unavailable`` like the rest."""
    try:
        yield
    except DomainError:
        raise
    except Exception as error:
        if is_unreachable(error):
            raise Unavailable() from error
        raise


#: PostgreSQL SQLSTATEs that mean "retry me": serialization failure, deadlock,
#: lock not available (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def _translate_transient_errors(context: ExceptionContext) -> None:
    original = context.original_exception
    if context.is_disconnect or is_unreachable(original):
        # SQLAlchemy still invalidates the connection (and with it the pool).
        raise Unavailable() from original
    sqlstate = _sqlstate(original)
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
        options = conn.get_execution_options()
        if options.get(READ_OPTION, False):
            return  # each statement of a read runs on its own (the driver autocommits)
        immediate = options.get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine.sync_engine, "handle_error", _translate_transient_errors)
    return engine
