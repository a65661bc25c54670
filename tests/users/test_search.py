"""POST /users/search: a filter expression in the body, with sorting, pages and its refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import make_user, store
from tests.support.users_api import ids

SEARCH = "/api/v1/users/search"


async def test_search_selects_users_by_a_filter_expression(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", company="Acme", city="Austin", events_hosted=2),
        make_user(id="u2", company="Globex", city="Boston", events_hosted=5),
        make_user(id="u3", company="Initech", city="Austin", events_hosted=9),
        make_user(id="u4", company=None, city="Austin", events_hosted=0),
    )
    expression = {
        "and": [
            {"field": "company", "op": "in", "value": ["ACME", "globex", "Initech"]},
            {
                "or": [
                    {"field": "city", "op": "eq", "value": "austin"},
                    {"field": "events_hosted", "op": "gte", "value": 5},
                ]
            },
            {"not": {"field": "events_hosted", "op": "gt", "value": 8}},
        ]
    }
    response = await client.post(SEARCH, json={"filter": expression})
    assert sorted(ids(response)) == ["u1", "u2"]


async def test_search_without_a_filter_lists_everyone(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1"), make_user(id="u2"))
    assert sorted(ids(await client.post(SEARCH, json={}))) == ["u1", "u2"]


async def test_search_accepts_camel_case_field_names_in_the_filter(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", job_title="CTO"), make_user(id="u2", job_title="CFO"))
    response = await client.post(
        SEARCH, json={"filter": {"field": "jobTitle", "op": "eq", "value": "cto"}}
    )
    assert ids(response) == ["u1"]


async def test_search_is_null_matches_absent_optional_fields(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", company="Acme"), make_user(id="u2"))
    response = await client.post(
        SEARCH, json={"filter": {"field": "company", "op": "is_null", "value": True}}
    )
    assert ids(response) == ["u2"]


async def test_search_sorts_pages_and_counts(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(storage, *(make_user(id=f"u{n}", events_attended=n % 3) for n in range(7)))
    body: dict[str, Any] = {
        "filter": {"field": "events_attended", "op": "ne", "value": 0},
        "sort": ["-events_attended"],
        "limit": 3,
        "include_total": True,
    }
    first = (await client.post(SEARCH, json=body)).json()
    second = (await client.post(SEARCH, json={**body, "cursor": first["nextCursor"]})).json()
    assert [u["id"] for u in first["items"] + second["items"]] == ["u5", "u2", "u4", "u1"]
    assert (first["total"], second["nextCursor"]) == (4, None)


async def test_search_accepts_snake_and_camel_case_keys(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1"))
    for key in ("include_total", "includeTotal"):
        assert (await client.post(SEARCH, json={key: True})).json()["total"] == 1


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ({"field": "password", "op": "eq", "value": "x"}, "filter.field"),
        (
            {
                "and": [
                    {"field": "city", "op": "eq", "value": "x"},
                    {"field": "avatar", "op": "eq", "value": "x"},
                ]
            },
            "filter.and.1.field",
        ),
        ({"field": "city", "op": "like", "value": "x"}, "filter.op"),
        ({"field": "city", "op": "gt", "value": "x"}, "filter.op"),
        ({"field": "events_hosted", "op": "contains", "value": 1}, "filter.op"),
        ({"field": "first_name", "op": "is_null", "value": True}, "filter.op"),
        ({"field": "city"}, "filter.op"),
        ({"xor": []}, "filter"),
        ({"or": {"field": "city", "op": "eq", "value": "x"}}, "filter.or"),
        ({"not": [{"field": "city", "op": "eq", "value": "x"}]}, "filter.not"),
    ],
)
async def test_search_rejects_an_unknown_field_op_or_shape_naming_where(
    client: httpx.AsyncClient, storage: Storage, expression: dict[str, Any], field: str
) -> None:
    await assert_refused(
        client, storage, "POST", SEARCH, json={"filter": expression}, status=422, field=field
    )


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"field": "events_hosted", "op": "eq", "value": "3"}, "filter.value"),
        ({"field": "events_hosted", "op": "gte", "value": 2.5}, "filter.value"),
        ({"field": "events_hosted", "op": "lt", "value": True}, "filter.value"),
        ({"field": "city", "op": "eq", "value": 3}, "filter.value"),
        ({"field": "city", "op": "in", "value": ["Austin", 3]}, "filter.value.1"),
        ({"field": "city", "op": "in", "value": "Austin"}, "filter.value"),
        ({"field": "city", "op": "in", "value": []}, "filter.value"),
        ({"field": "city", "op": "is_null", "value": "yes"}, "filter.value"),
        ({"field": "created_at", "op": "gt", "value": "last tuesday"}, "filter.value"),
        ({"field": "created_at", "op": "gt", "value": 1767225600}, "filter.value"),
        ({"field": "city", "op": "eq"}, "filter.value"),
    ],
)
async def test_search_rejects_a_value_of_the_wrong_type(
    client: httpx.AsyncClient, storage: Storage, condition: dict[str, Any], field: str
) -> None:
    await assert_refused(
        client, storage, "POST", SEARCH, json={"filter": condition}, status=422, field=field
    )


async def test_search_rejects_a_filter_nested_too_deep(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    expression: dict[str, Any] = {"field": "city", "op": "eq", "value": "Austin"}
    for _ in range(12):
        expression = {"not": expression}
    body = await assert_refused(
        client, storage, "POST", SEARCH, json={"filter": expression}, status=422, field=None
    )
    assert "deep" in body["errors"][0]["message"]
    assert body["errors"][0]["field"].startswith("filter.not.not")


async def test_search_rejects_a_filter_with_too_many_nodes(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    leaf = {"field": "city", "op": "eq", "value": "Austin"}
    await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        json={"filter": {"or": [leaf] * 300}},
        status=422,
        field="filter.or.255",
    )


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"sort": ["shoe_size"]}, "sort", 422),
        ({"sort": "last_name"}, "sort", 422),
        ({"limit": 101}, "limit", 422),
        ({"limit": 0}, "limit", 422),
        ({"cursor": "garbage"}, "cursor", 400),
        ({"page": 2}, "page", 422),
        ({"filter": "city = 'Austin'"}, "filter", 422),
    ],
)
async def test_search_rejects_bad_paging_and_sorting_by_name(
    client: httpx.AsyncClient, storage: Storage, body: dict[str, Any], field: str, status: int
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        json=body,
        status=status,
        field=field,
        location=["body", field],
    )


async def test_search_with_a_cursor_from_another_sort_is_a_400(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(3)))
    first = (await client.post(SEARCH, json={"limit": 1, "sort": ["city"]})).json()
    await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        json={"limit": 1, "sort": ["state"], "cursor": first["nextCursor"]},
        status=400,
        field="cursor",
    )


async def test_search_with_malformed_json_is_a_400(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        content=b'{"filter": {"field": "city",}}',
        headers={"content-type": "application/json"},
        status=400,
        field="body",
    )
