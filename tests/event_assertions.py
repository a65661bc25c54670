"""Assertions shared by the events, categories and registrations HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from eventcrm.storage.sql.storage import SqlStorage
from eventcrm.storage.sql.tables import metadata

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:eventcrm:problem:"

Snapshot = dict[str, list[tuple[Any, ...]]]


def assert_problem(
    response: httpx.Response,
    status: int,
    *,
    code: str | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem with ``status`` (and ``code``); with ``field``, an error names it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if code is not None:
        assert body["type"] == PROBLEM_TYPE + code, body
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, f"no error names {field!r}: {body.get('errors')}"
    return body


async def snapshot(storage: SqlStorage) -> Snapshot:
    """Every row of every table, in primary-key order: what "nothing changed" compares."""
    rows: Snapshot = {}
    async with storage.engine.connect() as conn:
        for table in metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in (await conn.execute(query)).all()]
    return rows


async def assert_refused(
    client: httpx.AsyncClient,
    storage: SqlStorage,
    method: str,
    url: str,
    *,
    status: int,
    code: str | None = None,
    field: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    """The request gets a problem response and the database is exactly as before."""
    before = await snapshot(storage)
    response = await client.request(method, url, **request)
    body = assert_problem(response, status, code=code, field=field)
    assert await snapshot(storage) == before
    return body
