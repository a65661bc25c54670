"""GET /users with bad query parameters: limits, cursors, sorts and ranges are refused by name."""

from __future__ import annotations

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_user, make_user, store
from tests.support.users_api import USERS


@pytest.mark.parametrize("limit", ["101", "0", "-1", "ten", "1.5"])
async def test_a_limit_outside_1_to_100_is_rejected(
    client: httpx.AsyncClient, storage: Storage, limit: str
) -> None:
    await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={"limit": limit},
        status=422,
        field="limit",
        location=["query", "limit"],
    )


@pytest.mark.parametrize("cursor", ["garbage", "eyJzIjoiY3JlYXRlZF9hdCJ9", "a.b", ".", "🙂"])
async def test_an_invalid_cursor_is_a_400(
    client: httpx.AsyncClient, storage: Storage, cursor: str
) -> None:
    await create_user(client)
    await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={"cursor": cursor},
        status=400,
        field="cursor",
        location=["query", "cursor"],
    )


async def test_an_over_long_cursor_is_rejected(client: httpx.AsyncClient, storage: Storage) -> None:
    # No cursor this service issues comes near the length limit.
    await assert_refused(
        client, storage, "GET", USERS, params={"cursor": "x" * 2049}, status=422, field="cursor"
    )


def tampered(cursor: str) -> list[str]:
    """The cursor with one character of its payload, then of its signature, changed."""
    payload, signature = cursor.rsplit(".", 1)

    def swap(c: str) -> str:
        return "A" if c != "A" else "B"

    return [
        f"{swap(payload[0])}{payload[1:]}.{signature}",
        f"{payload}.{swap(signature[0])}{signature[1:]}",
    ]


async def test_a_tampered_cursor_is_a_400(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(3)))
    cursor = (await client.get(USERS, params={"limit": 1})).json()["nextCursor"]
    for forged in tampered(cursor):
        await assert_refused(
            client,
            storage,
            "GET",
            USERS,
            params={"limit": 1, "cursor": forged},
            status=400,
            field="cursor",
        )


async def test_a_cursor_reused_with_a_different_sort_is_a_400(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(3)))
    cursor = (await client.get(USERS, params={"limit": 1, "sort": "last_name"})).json()[
        "nextCursor"
    ]
    body = await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={"limit": 1, "sort": "-last_name", "cursor": cursor},
        status=400,
        field="cursor",
    )
    assert "sort" in body["detail"]


@pytest.mark.parametrize("sort", ["password", "id", "last_name,nope", "avatar", "-", "city,"])
async def test_an_unknown_sort_field_is_rejected(
    client: httpx.AsyncClient, storage: Storage, sort: str
) -> None:
    await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={"sort": sort},
        status=422,
        field="sort",
        location=["query", "sort"],
    )


async def test_a_sort_field_given_twice_is_rejected(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client, storage, "GET", USERS, params={"sort": "city,-city"}, status=422, field="sort"
    )


async def test_an_unknown_query_parameter_is_rejected_by_name(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={"colour": "blue"},
        status=422,
        field="colour",
        location=["query", "colour"],
    )
    assert "colour" in body["detail"]


@pytest.mark.parametrize(
    ("low", "high", "low_value", "high_value"),
    [
        ("min_events_hosted", "max_events_hosted", "3", "2"),
        ("min_events_attended", "max_events_attended", "10", "0"),
        ("created_after", "created_before", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("created_after", "created_before", "2026-01-02T00:00:00", "2026-01-01T23:00:00Z"),
    ],
)
async def test_a_range_whose_minimum_exceeds_its_maximum_is_rejected(
    client: httpx.AsyncClient,
    storage: Storage,
    low: str,
    high: str,
    low_value: str,
    high_value: str,
) -> None:
    body = await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={low: low_value, high: high_value},
        status=422,
        field=high,
    )
    assert low in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("min_events_hosted", "many"),
        ("max_events_attended", "-1"),
        ("created_after", "yesterday"),
        ("created_before", "2026-13-01"),
        ("include_total", "perhaps"),
        ("q", "x" * 201),
    ],
)
async def test_a_malformed_query_parameter_is_rejected_by_name(
    client: httpx.AsyncClient, storage: Storage, param: str, value: str
) -> None:
    await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params={param: value},
        status=422,
        field=param,
        location=["query", param],
    )


async def test_an_over_long_value_of_a_repeated_filter_is_rejected_by_position(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "GET",
        USERS,
        params=[("city", "Austin"), ("city", "c" * 321)],
        status=422,
        field="city.1",
        location=["query", "city", 1],
    )
