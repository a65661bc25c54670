"""Inputs that once reached the database and failed there: each is a clear 4xx now."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused

EVENT = {"title": "x", "startAt": "2026-01-01T00:00:00Z", "endAt": "2026-01-01T01:00:00Z"}
USER = {"firstName": "Ada", "lastName": "L", "email": "ada@example.com"}


@pytest.mark.parametrize(
    ("method", "url", "request_args", "field"),
    [
        # Date-times that overflow when converted to UTC.
        (
            "POST",
            "/api/v1/events",
            {
                "json": {
                    **EVENT,
                    "startAt": "9999-12-31T23:00:00-05:00",
                    "endAt": "9999-12-31T23:59:59-05:00",
                }
            },
            "startAt",
        ),
        (
            "POST",
            "/api/v1/events",
            {"json": {**EVENT, "startAt": "0001-01-01T00:00:00+05:00"}},
            "startAt",
        ),
        (
            "GET",
            "/api/v1/users",
            {"params": {"created_after": "9999-12-31T23:59:59-05:00"}},
            "created_after",
        ),
        (
            "GET",
            "/api/v1/events",
            {"params": {"start_after": "0001-01-01T00:00:00+05:00"}},
            "start_after",
        ),
        (
            "POST",
            "/api/v1/users/search",
            {
                "json": {
                    "filter": {
                        "field": "created_at",
                        "op": "gt",
                        "value": "0001-01-01T00:00:00+05:00",
                    }
                }
            },
            "filter.value",
        ),
        # NUL characters, which PostgreSQL text cannot store.
        ("POST", "/api/v1/users", {"json": {**USER, "firstName": "A\x00da"}}, "firstName"),
        ("POST", "/api/v1/events", {"json": {**EVENT, "title": "\x00"}}, "title"),
        ("GET", "/api/v1/users", {"params": {"company": "\x00a"}}, "company.0"),
        ("GET", "/api/v1/users", {"params": {"q": "a\x00"}}, "q"),
        (
            "POST",
            "/api/v1/users/search",
            {"json": {"filter": {"field": "city", "op": "eq", "value": "\x00"}}},
            "filter.value",
        ),
    ],
)
async def test_out_of_range_dates_and_nul_characters_are_refused(
    client: httpx.AsyncClient,
    storage: Storage,
    method: str,
    url: str,
    request_args: dict[str, Any],
    field: str,
) -> None:
    await assert_refused(client, storage, method, url, status=422, field=field, **request_args)
