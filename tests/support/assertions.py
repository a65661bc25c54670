"""Assertions shared by the HTTP tests: the problem+json shape, and "nothing was written"."""

from __future__ import annotations

from typing import Any

import httpx

from eventcrm.storage.ports import Storage
from tests.support.databases import snapshot

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:eventcrm:problem:"


def assert_problem(
    response: httpx.Response,
    status: int,
    *,
    code: str | None = None,
    field: str | None = None,
    location: list[str | int] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem with ``status`` (and ``code``); with ``field``, an
    ``errors`` entry names it (at ``location``, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str)
        assert body[key]
    if code is not None:
        assert body["type"] == PROBLEM_TYPE + code, body
    if field is not None:
        entries = [e for e in body.get("errors", []) if e["field"] == field]
        assert entries, f"no error names {field!r}: {body.get('errors')}"
        assert all(e["message"] for e in entries)
        if location is not None:
            assert location in [e["location"] for e in entries], body["errors"]
    return body


async def assert_refused(
    client: httpx.AsyncClient,
    storage: Storage,
    method: str,
    url: str,
    *,
    status: int,
    code: str | None = None,
    field: str | None = None,
    location: list[str | int] | None = None,
    **request: Any,
) -> dict[str, Any]:
    """The request gets a problem response and the database is exactly as before."""
    before = await snapshot(storage)
    response = await client.request(method, url, **request)
    body = assert_problem(response, status, code=code, field=field, location=location)
    assert await snapshot(storage) == before
    return body
