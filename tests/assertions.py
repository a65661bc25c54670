"""Assertions shared by the HTTP tests: the problem+json shape, and "nothing was written"."""

from __future__ import annotations

from typing import Any

import httpx

from eventcrm.storage.ports import Storage
from eventcrm.users.domain import User

PROBLEM_JSON = "application/problem+json"


def assert_problem(
    response: httpx.Response,
    status: int,
    *,
    field: str | None = None,
    location: list[str | int] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem with ``status``; with ``field``, an ``errors`` entry names it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if field is not None:
        entries = [e for e in body["errors"] if e["field"] == field]
        assert entries, f"no error names {field!r}: {body['errors']}"
        assert all(e["message"] for e in entries)
        if location is not None:
            assert location in [e["location"] for e in entries], body["errors"]
    return body


async def stored_users(storage: Storage) -> list[User]:
    """Every user in the database, read through the repository, in id order."""
    async with storage.unit_of_work(write=False) as uow:
        page = await uow.users.list(where=None, sort=(), limit=10_000)
    return page.items


async def assert_rejected(
    client: httpx.AsyncClient,
    storage: Storage,
    method: str,
    url: str,
    *,
    status: int,
    field: str | None,
    location: list[str | int] | None = None,
    **request: Any,
) -> dict[str, Any]:
    """The request gets a problem naming ``field`` and the database is exactly as before."""
    before = await stored_users(storage)
    response = await client.request(method, url, **request)
    body = assert_problem(response, status, field=field, location=location)
    assert await stored_users(storage) == before
    return body
