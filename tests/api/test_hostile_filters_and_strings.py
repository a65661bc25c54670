"""Filters, numbers, strings, nesting and cursors a hostile client can send: each is a clear
4xx problem that changes nothing, or (within the documented limits) a correct answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import create_async_engine

from eventcrm.kit.filters import (
    INT_MAX,
    MAX_IN_VALUES,
    MAX_VALUES,
    Condition,
    Op,
)
from eventcrm.kit.schemas import MAX_JSON_DEPTH
from eventcrm.segments.domain import Segment
from eventcrm.storage.ports import Storage
from eventcrm.storage.sql.query import compile_filter
from eventcrm.storage.sql.users import USER_FIELDS
from tests.support.assertions import assert_problem, assert_refused
from tests.support.factories import create_category, create_template, create_user

API = "/api/v1"
SEARCH = f"{API}/users/search"
AUSTIN = {"field": "city", "op": "eq", "value": "Austin"}


def raw_json(text: str) -> dict[str, Any]:
    """Request arguments sending ``text`` as the JSON body, byte for byte (so JSON escapes
    such as a lone surrogate ``\\ud800`` reach the server as written)."""
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


def nested_nots(levels: int) -> str:
    return '{"filter": ' + '{"not": ' * levels + json.dumps(AUSTIN) + "}" * (levels + 1)


# --- 1. "in" lists: one bound parameter, and a cap on the values of a tree ---------------------


#: The dialects the application runs on (an engine that never connects compiles for them).
DIALECTS = [
    create_async_engine(url).dialect for url in ("postgresql+asyncpg://", "sqlite+aiosqlite://")
]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_in_list_is_one_bound_parameter_however_long(dialect: Dialect) -> None:
    names = tuple(f"Company {n}" for n in range(MAX_IN_VALUES))
    where = compile_filter(Condition("company", Op.IN, names), USER_FIELDS)
    compiled = where.compile(dialect=dialect)
    assert len(compiled.params) == 1


async def test_in_lists_up_to_the_value_limit_select_exactly_their_matches(
    client: httpx.AsyncClient,
) -> None:
    acme = await create_user(client, company="Acme")
    globex = await create_user(client, company="Globex")
    await create_user(client, company="Initech")
    half = MAX_VALUES // 2
    companies = ["ACME", *(f"Other {n}" for n in range(half - 1))]
    ids = [globex["id"], *(f"missing-{n}" for n in range(half - 1))]
    body = {
        "filter": {
            "or": [
                {"field": "company", "op": "in", "value": companies},
                {"field": "id", "op": "in", "value": ids},
            ]
        },
        "limit": 100,
    }
    response = await client.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    assert sorted(u["id"] for u in response.json()["items"]) == sorted([acme["id"], globex["id"]])


async def test_a_filter_with_more_values_than_the_limit_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    # The shape that once blocked the server for 18 s: 50 'in' lists of 1,000 values.
    lists = [
        {"field": "company", "op": "in", "value": [f"c{i}-{n}" for n in range(MAX_IN_VALUES)]}
        for i in range(50)
    ]
    over = MAX_VALUES // MAX_IN_VALUES
    body = await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        json={"filter": {"or": lists}},
        status=422,
        code="validation_error",
        field=f"filter.or.{over}.value",
    )
    assert str(MAX_VALUES) in body["errors"][0]["message"]


async def test_a_campaign_audience_of_many_user_ids_is_frozen(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(3)]
    response = await client.post(
        f"{API}/campaigns",
        json={
            "name": "Many",
            "subject": "s",
            "text": "t",
            "audience": {"userIds": [u["id"] for u in users]},
        },
    )
    assert response.status_code == 201, response.text
    sent = await client.post(f"{API}/campaigns/{response.json()['id']}/send")
    assert sent.status_code == 202, sent.text
    assert sent.json()["recipientCount"] == 3


# --- 2. integers beyond the columns' range ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_events_attended": str(INT_MAX + 1)}, "min_events_attended"),
        ({"max_events_attended": str(INT_MAX + 1)}, "max_events_attended"),
        ({"min_events_hosted": "9223372036854775808"}, "min_events_hosted"),
        ({"max_events_hosted": "9" * 40}, "max_events_hosted"),
    ],
)
async def test_a_query_integer_beyond_the_column_range_is_refused(
    client: httpx.AsyncClient, storage: Storage, params: dict[str, str], field: str
) -> None:
    await assert_refused(
        client, storage, "GET", f"{API}/users", params=params, status=422, field=field
    )


async def test_a_query_integer_at_the_column_range_is_accepted(client: httpx.AsyncClient) -> None:
    await create_user(client)
    response = await client.get(f"{API}/users", params={"max_events_hosted": str(INT_MAX)})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 1


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (SEARCH, {}, "filter.value"),
        (f"{API}/segments", {"name": "Big"}, "filter.value"),
        (
            f"{API}/emails/send",
            {"subject": "s", "text": "t"},
            "filter.value",
        ),
        (
            f"{API}/campaigns",
            {"name": "Big", "subject": "s", "text": "t", "audience": "nest"},
            "audience.filter.value",
        ),
    ],
)
@pytest.mark.parametrize("value", [INT_MAX + 1, -(2**63) - 1, 2**64])
async def test_a_filter_integer_beyond_the_column_range_is_refused(
    client: httpx.AsyncClient,
    storage: Storage,
    url: str,
    body: dict[str, Any],
    field: str,
    value: int,
) -> None:
    tree = {"field": "eventsHosted", "op": "gte", "value": value}
    if body.get("audience") == "nest":
        payload = {**body, "audience": {"filter": tree}}
    else:
        payload = {**body, "filter": tree}
    body_out = await assert_refused(
        client, storage, "POST", url, json=payload, status=422, field=field
    )
    assert str(INT_MAX) in body_out["errors"][0]["message"]


async def test_a_segment_saved_before_the_range_rule_is_a_conflict_not_a_crash(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with storage.unit_of_work(write=True) as uow:
        await uow.segments.add(
            Segment(
                id="legacy",
                name="Legacy",
                description=None,
                filter={"field": "eventsHosted", "op": "gte", "value": 2**31},
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    for url in (f"{API}/segments/legacy/users", f"{API}/segments/legacy/count"):
        assert_problem(await client.get(url), 409, code="segment_filter_outdated")
    draft = await client.post(
        f"{API}/campaigns",
        json={"name": "L", "subject": "s", "text": "t", "audience": {"segmentId": "legacy"}},
    )
    assert draft.status_code == 201, draft.text
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/campaigns/{draft.json()['id']}/send",
        status=409,
        code="segment_filter_outdated",
    )


# --- 3. lone surrogates (and NUL) inside filter trees and other JSON -------------------------


@pytest.mark.parametrize(
    ("url", "prefix", "field"),
    [
        (SEARCH, "", "filter.value"),
        (f"{API}/segments", '"name": "S", ', "filter.value"),
        (f"{API}/emails/send", '"subject": "s", "text": "t", ', "filter.value"),
    ],
)
@pytest.mark.parametrize("value", ["\\ud800", "x\\udfff", "\\u0000"])
async def test_a_bad_string_in_a_filter_value_is_refused(
    client: httpx.AsyncClient,
    storage: Storage,
    url: str,
    prefix: str,
    field: str,
    value: str,
) -> None:
    text = "{" + prefix + '"filter": {"field": "city", "op": "eq", "value": "' + value + '"}}'
    await assert_refused(client, storage, "POST", url, status=422, field=field, **raw_json(text))


async def test_a_lone_surrogate_in_a_campaign_audience_filter_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    text = (
        '{"name": "C", "subject": "s", "text": "t", "audience": '
        '{"filter": {"field": "city", "op": "in", "value": ["ok", "\\ud83d"]}}}'
    )
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/campaigns",
        status=422,
        field="audience.filter.value.1",
        **raw_json(text),
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"filter": {"\\ud800": 1}}',
        '{"filter": {"field": "\\ud800", "op": "eq", "value": "x"}}',
        '{"filter": {"field": "city", "op": "\\ud800", "value": "x"}}',
        '{"sort": ["\\ud800"]}',
        '{"cursor": "\\ud800"}',
    ],
)
async def test_a_lone_surrogate_anywhere_in_a_search_is_refused(
    client: httpx.AsyncClient, storage: Storage, text: str
) -> None:
    await assert_refused(client, storage, "POST", SEARCH, status=422, **raw_json(text))


async def test_a_lone_surrogate_in_a_plain_field_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    text = '{"firstName": "A\\ud800", "lastName": "L", "email": "a@example.com"}'
    await assert_refused(
        client, storage, "POST", f"{API}/users", status=422, field="firstName", **raw_json(text)
    )


async def test_query_parameters_cannot_carry_lone_surrogates(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, company="Acme")
    # %ED%A0%80 is the (invalid) UTF-8 form of U+D800: it is decoded as U+FFFD, not a surrogate.
    response = await client.get(f"{API}/users?company=%ED%A0%80&q=%ED%A0%80")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


# --- 5. nesting: a stated depth limit, whatever the depth ------------------------------------


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH, 200, 990, 1000, 5000, 100_000])
async def test_a_body_nested_beyond_the_depth_limit_names_the_limit(
    client: httpx.AsyncClient, storage: Storage, levels: int
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        status=422,
        code="validation_error",
        **raw_json(nested_nots(levels)),
    )
    (error,) = body["errors"]
    assert error["type"] == "json_too_deep"
    assert str(MAX_JSON_DEPTH) in error["message"]


async def test_a_deep_body_anywhere_is_refused_naming_the_limit(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    text = '{"name": "S", "description": "d", "filter": ' + "[" * 3000 + "]" * 3000 + "}"
    body = await assert_refused(
        client, storage, "POST", f"{API}/segments", status=422, **raw_json(text)
    )
    assert str(MAX_JSON_DEPTH) in body["errors"][0]["message"]


async def test_a_filter_nested_beyond_its_own_limit_names_that_limit(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client, storage, "POST", SEARCH, status=422, **raw_json(nested_nots(12))
    )
    assert "at most 8 levels" in body["errors"][0]["message"]


# --- 6. length limits hold for the string as sent --------------------------------------------


@pytest.mark.parametrize("padding", ["\u0085", "\u00a0", "\u3000", " "])
async def test_whitespace_padding_does_not_escape_a_length_limit(
    client: httpx.AsyncClient, storage: Storage, padding: str
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/email-templates",
        # Over the limit as sent, within it once trimmed, and far below the body limit.
        json={"name": "T", "subject": "s", "text": "x" * (512 * 1024 - 10) + padding * 20},
        status=422,
        field="text",
    )
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/users",
        json={"firstName": "Ada" + padding * 100, "lastName": "L", "email": "a@example.com"},
        status=422,
        field="firstName",
    )
    await assert_refused(
        client,
        storage,
        "POST",
        SEARCH,
        json={"sort": [padding * 41]},
        status=422,
        field="sort.0",
    )


@pytest.mark.parametrize("padding", ["\u0085", " "])
async def test_whitespace_padding_does_not_make_a_long_id_valid(
    client: httpx.AsyncClient, storage: Storage, padding: str
) -> None:
    user = await create_user(client)
    padded = padding * 100 + user["id"]
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/campaigns",
        json={"name": "C", "subject": "s", "text": "t", "audience": {"userIds": [padded]}},
        status=422,
        field="audience.userIds.0",
    )
    await assert_refused(
        client,
        storage,
        "POST",
        f"{API}/segments",
        json={"name": "S", "id": padding * 100 + "seg"},
        status=422,
        field="id",
    )


async def test_surrounding_whitespace_within_the_limit_is_still_trimmed(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(client, firstName="\u0085 Ada \u00a0", company="  Acme ")
    assert user["firstName"] == "Ada"
    assert user["company"] == "Acme"


# --- 7. cursors belong to their listing ------------------------------------------------------


async def test_a_cursor_from_another_listing_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    for _ in range(2):
        await create_category(client)
        await create_template(client)
        await create_user(client)
    categories = (await client.get(f"{API}/categories", params={"limit": 1})).json()
    cursor = categories["nextCursor"]
    assert cursor
    segment = await client.post(f"{API}/segments", json={"name": "All"})
    assert segment.status_code == 201, segment.text
    for url in (
        f"{API}/segments",
        f"{API}/email-templates",
        f"{API}/users",
        f"{API}/segments/{segment.json()['id']}/users",
    ):
        await assert_refused(
            client,
            storage,
            "GET",
            url,
            params={"cursor": cursor},
            status=400,
            code="invalid_cursor",
            field="cursor",
        )
    users = (await client.get(f"{API}/users", params={"limit": 1})).json()
    response = await client.get(
        f"{API}/segments/{segment.json()['id']}/users", params={"cursor": users["nextCursor"]}
    )
    assert_problem(response, 400, code="invalid_cursor", field="cursor")
    # The cursor still works where it was made.
    again = await client.get(f"{API}/categories", params={"limit": 1, "cursor": cursor})
    assert again.status_code == 200, again.text
