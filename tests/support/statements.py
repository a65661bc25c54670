"""Counting the statements a request sends to the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every round trip on ``engine`` while the block runs, in order: each SQL
    statement (its first word upper-cased: SELECT, INSERT, UPDATE, ...), and
    BEGIN, COMMIT and ROLLBACK where the driver sends them itself (asyncpg)."""
    sent: list[str] = []
    sync = engine.sync_engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        words = sql.split(None, 2)
        # A CTE is named by the statement that follows its WITH clauses.
        sent.append(" ".join(words[:1]).upper())

    def sends_transactions(conn: Any) -> bool:
        # SQLite's BEGIN is one of the statements; a PostgreSQL read in AUTOCOMMIT
        # sends none (SQLAlchemy still signals its logical begin and rollback).
        return sync.dialect.name != "sqlite" and (
            conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
        )

    def begin(conn: Any) -> None:
        if sends_transactions(conn):
            sent.append("BEGIN")

    def commit(conn: Any) -> None:
        if sync.dialect.name == "sqlite" or sends_transactions(conn):
            sent.append("COMMIT")

    def rollback(conn: Any) -> None:
        if sync.dialect.name == "sqlite" or sends_transactions(conn):
            sent.append("ROLLBACK")

    listeners: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", statement),
        ("begin", begin),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, fn in listeners:
        sa.event.listen(sync, name, fn)
    try:
        yield sent
    finally:
        for name, fn in listeners:
            sa.event.remove(sync, name, fn)
