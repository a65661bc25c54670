"""Writes the database may refuse, turned into the domain error that explains why.

A statement runs inside a savepoint, so a refused write (a taken id, name,
email or slug) rolls back alone and the caller's transaction stays usable.
The refusal is classified by reading the database after the savepoint rolled
back, not by parsing the driver's message: SQLite and PostgreSQL name a
violated index differently, and the answer must not depend on index names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

#: Reads what made a write fail and returns the domain error to raise.
Classify = Callable[[AsyncConnection], Awaitable[Exception]]


async def write_or_raise(
    conn: AsyncConnection, statement: sa.Executable, *, on_conflict: Exception | Classify
) -> sa.CursorResult[Any]:
    """Run ``statement``; if a constraint refuses it, raise ``on_conflict``
    (an error, or a function that reads the database to choose one)."""
    try:
        async with conn.begin_nested():
            return await conn.execute(statement)
    except IntegrityError:
        error = on_conflict if isinstance(on_conflict, Exception) else await on_conflict(conn)
        raise error from None


def if_exists(where: ColumnElement[bool], found: Exception, *, else_: Exception) -> Classify:
    """``found`` when a row matching ``where`` exists (say, the id is taken), else ``else_``."""

    async def classify(conn: AsyncConnection) -> Exception:
        exists = await conn.scalar(sa.select(sa.exists().where(where)))
        return found if exists else else_

    return classify
