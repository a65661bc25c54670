"""The users HTTP API, end to end over the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic.alias_generators import to_camel

from eventcrm.storage.ports import Storage
from tests.assertions import assert_problem, assert_refused
from tests.auth import ADMIN
from tests.factories import create_user, make_user, store, user_payload

USERS = "/api/v1/users"
SEARCH = "/api/v1/users/search"
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

OPTIONAL_FIELDS = ("phoneNumber", "avatar", "gender", "jobTitle", "company", "city", "state")
READ_ONLY_FIELDS = {
    "id": "someone-else",
    "eventsHosted": 3,
    "eventsAttended": 4,
    "createdAt": "2020-01-01T00:00:00Z",
    "updatedAt": "2020-01-01T00:00:00Z",
    "events_hosted": 3,
    "created_at": "2020-01-01T00:00:00Z",
}


def full_payload(**overrides: Any) -> dict[str, Any]:
    return user_payload(
        phoneNumber="+15125550100",
        avatar="https://example.com/ada.png",
        gender="female",
        jobTitle="Engineer",
        company="Acme",
        city="Austin",
        state="TX",
        **overrides,
    )


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [u["id"] for u in response.json()["items"]]


async def walk(client: httpx.AsyncClient, params: dict[str, Any]) -> list[list[str]]:
    """Follow nextCursor from the first page to the last; the ids of each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await client.get(
            USERS, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        pages.append(ids(response))
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not terminate"


# --- POST /users -------------------------------------------------------------------------


async def test_create_returns_201_with_every_field_in_camel_case(
    client: httpx.AsyncClient,
) -> None:
    payload = full_payload()
    response = await client.post(USERS, json=payload)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "firstName",
        "lastName",
        "email",
        "phoneNumber",
        "avatar",
        "gender",
        "jobTitle",
        "company",
        "city",
        "state",
        "eventsHosted",
        "eventsAttended",
        "emailOptOut",
        "createdAt",
        "updatedAt",
        "createdBy",
        "updatedBy",
    }
    assert {k: body[k] for k in payload} == payload
    assert body["createdBy"] == body["updatedBy"] == ADMIN.prefix  # the client's key


async def test_created_user_can_be_read_back(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    response = await client.get(f"{USERS}/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_create_points_location_at_the_new_user(client: httpx.AsyncClient) -> None:
    response = await client.post(USERS, json=user_payload())
    assert response.headers["location"] == f"{USERS}/{response.json()['id']}"


async def test_create_accepts_snake_case_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        USERS,
        json={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "phone_number": "+15125550100",
            "job_title": "Analyst",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["firstName"], body["lastName"], body["jobTitle"]) == ("Ada", "Lovelace", "Analyst")
    assert body["phoneNumber"] == "+15125550100"


async def test_create_generates_a_uuid7_id(client: httpx.AsyncClient) -> None:
    body = await create_user(client)
    assert uuid.UUID(body["id"]).version == 7


async def test_create_starts_counters_at_zero_and_stamps_both_times(
    client: httpx.AsyncClient,
) -> None:
    before = datetime.now(UTC)
    body = await create_user(client)
    assert (body["eventsHosted"], body["eventsAttended"]) == (0, 0)
    created = datetime.fromisoformat(body["createdAt"])
    assert body["updatedAt"] == body["createdAt"]
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)


async def test_create_stores_optional_fields_not_sent_as_null(client: httpx.AsyncClient) -> None:
    body = await create_user(client)
    assert {body[name] for name in OPTIONAL_FIELDS} == {None}


async def test_create_stores_blank_optional_text_as_null(client: httpx.AsyncClient) -> None:
    body = await create_user(client, company="", city="   ", jobTitle="")
    assert (body["company"], body["city"], body["jobTitle"]) == (None, None, None)


async def test_create_trims_surrounding_whitespace(client: httpx.AsyncClient) -> None:
    body = await create_user(client, firstName="  Ada ", company=" Acme  ")
    assert (body["firstName"], body["company"]) == ("Ada", "Acme")


@pytest.mark.parametrize("client_id", ["a", "Z", "user_42", "A-b_9-z", "x" * 64])
async def test_create_keeps_a_client_id_matching_the_pattern(
    client: httpx.AsyncClient, client_id: str
) -> None:
    body = await create_user(client, id=client_id)
    assert body["id"] == client_id
    assert (await client.get(f"{USERS}/{client_id}")).status_code == 200


@pytest.mark.parametrize(
    "client_id", ["", "has space", "x" * 65, "dot.ted", "sla/sh", "ünïcode", "semi;colon"]
)
async def test_create_rejects_a_client_id_not_matching_the_pattern(
    client: httpx.AsyncClient, storage: Storage, client_id: str
) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=user_payload(id=client_id), status=422, field="id"
    )


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+15125550100", "+15125550100"),
        ("+1 512-555-0100", "+15125550100"),
        ("+1 (512) 555 0100", "+15125550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 1 42 68 53 00", "+33142685300"),
    ],
)
async def test_create_normalises_the_phone_number_to_e164(
    client: httpx.AsyncClient, raw: str, e164: str
) -> None:
    body = await create_user(client, phoneNumber=raw)
    assert body["phoneNumber"] == e164


async def test_create_with_an_email_taken_in_another_case_is_a_conflict(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, email="ada@example.com")
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(email="ADA@Example.COM"),
        status=409,
        field=None,
    )
    assert body["type"].endswith("user_email_taken")
    assert "ada@example.com" in body["detail"].lower()


async def test_create_with_a_taken_id_is_a_conflict(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, id="ada")
    body = await assert_refused(
        client, storage, "POST", USERS, json=user_payload(id="ada"), status=409, field=None
    )
    assert body["type"].endswith("user_id_taken")


# --- bad input on POST -------------------------------------------------------------------


async def test_malformed_json_is_a_400_naming_the_body(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        content=b'{"firstName": "Ada", "lastName": ',
        headers={"content-type": "application/json"},
        status=400,
        field="body",
    )
    assert body["type"].endswith("malformed_json")


async def test_a_json_array_body_is_rejected(client: httpx.AsyncClient, storage: Storage) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=[user_payload()], status=422, field="body"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", 42),
        ("lastName", ["Lovelace"]),
        ("email", 123),
        ("phoneNumber", 15125550100),
        ("avatar", {"url": "https://example.com/a.png"}),
        ("company", True),
        ("city", 7.5),
        ("id", 12),
    ],
)
async def test_a_wrong_type_is_rejected_naming_the_field(
    client: httpx.AsyncClient, storage: Storage, field: str, value: Any
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(**{field: value}),
        status=422,
        field=field,
        location=["body", field],
    )


@pytest.mark.parametrize("field", ["firstName", "lastName", "email"])
async def test_a_missing_required_field_is_rejected(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    payload = user_payload()
    del payload[field]
    await assert_refused(client, storage, "POST", USERS, json=payload, status=422, field=field)


@pytest.mark.parametrize("field", ["firstName", "lastName"])
async def test_a_blank_name_is_rejected(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=user_payload(**{field: "   "}), status=422, field=field
    )


async def test_an_unknown_body_field_is_rejected_by_name(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(nickname="Countess"),
        status=422,
        field="nickname",
    )
    assert "nickname" in body["detail"]


@pytest.mark.parametrize(
    "field", ["eventsHosted", "eventsAttended", "createdAt", "updatedAt", "events_attended"]
)
async def test_create_rejects_read_only_fields(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    value = 5 if "events" in field else "2020-01-01T00:00:00Z"
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(**{field: value}),
        status=422,
        field=to_camel(field),
    )
    assert "read-only" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "ada@", "@example.com", "ada lovelace@example.com", "ada@@example.com", ""],
)
async def test_an_invalid_email_is_rejected(
    client: httpx.AsyncClient, storage: Storage, email: str
) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=user_payload(email=email), status=422, field="email"
    )


@pytest.mark.parametrize(
    "phone", ["12345", "+1 555", "call me", "+999 1234 5678", "5125550100", "+1 512 555 01000"]
)
async def test_an_invalid_phone_number_is_rejected(
    client: httpx.AsyncClient, storage: Storage, phone: str
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(phoneNumber=phone),
        status=422,
        field="phoneNumber",
    )


@pytest.mark.parametrize("avatar", ["not a url", "ftp://example.com/a.png", "example.com/a.png"])
async def test_an_invalid_avatar_url_is_rejected(
    client: httpx.AsyncClient, storage: Storage, avatar: str
) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=user_payload(avatar=avatar), status=422, field="avatar"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("firstName", "A" * 101),
        ("lastName", "L" * 101),
        ("email", "a" * 64 + "@" + ".".join(["d" * 63] * 4) + ".com"),
        ("phoneNumber", "+1 512 555 0100" + " 0" * 13),
        ("avatar", "https://example.com/" + "a" * 2100),
        ("gender", "g" * 65),
        ("jobTitle", "j" * 201),
        ("company", "c" * 201),
        ("city", "c" * 101),
        ("state", "s" * 101),
    ],
)
async def test_an_over_long_string_is_rejected(
    client: httpx.AsyncClient, storage: Storage, field: str, value: str
) -> None:
    await assert_refused(
        client, storage, "POST", USERS, json=user_payload(**{field: value}), status=422, field=field
    )


async def test_the_longest_allowed_strings_are_accepted(client: httpx.AsyncClient) -> None:
    body = await create_user(
        client, firstName="A" * 100, jobTitle="j" * 200, city="c" * 100, gender="g" * 64
    )
    assert (len(body["firstName"]), len(body["jobTitle"])) == (100, 200)


# --- GET /users/{id} ---------------------------------------------------------------------


async def test_get_of_an_unknown_user_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(f"{USERS}/nobody"), 404)
    assert "nobody" in body["detail"]


async def test_get_with_an_id_outside_the_pattern_is_rejected(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{USERS}/{'x' * 65}"), 422, field="user_id")


# --- PUT /users/{id} ---------------------------------------------------------------------


async def test_put_replaces_fields_and_clears_optional_fields_not_sent(
    client: httpx.AsyncClient,
) -> None:
    created = await create_user(client, **full_payload())
    replacement = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}
    response = await client.put(f"{USERS}/{created['id']}", json={**replacement, "city": "Boston"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in replacement} == replacement
    assert body["city"] == "Boston"
    assert {body[k] for k in OPTIONAL_FIELDS if k != "city"} == {None}
    assert (await client.get(f"{USERS}/{created['id']}")).json() == body


async def test_put_keeps_id_counters_and_creation_time_and_moves_updated_at(
    client: httpx.AsyncClient,
) -> None:
    created = await create_user(client)
    body = (await client.put(f"{USERS}/{created['id']}", json=user_payload())).json()
    assert body["id"] == created["id"]
    assert (body["eventsHosted"], body["eventsAttended"]) == (0, 0)
    assert body["createdAt"] == created["createdAt"]
    assert datetime.fromisoformat(body["updatedAt"]) > datetime.fromisoformat(created["updatedAt"])


async def test_put_accepts_snake_case_fields(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    response = await client.put(
        f"{USERS}/{created['id']}",
        json={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "g@example.com",
            "job_title": "RADM",
        },
    )
    assert response.status_code == 200, response.text
    assert (response.json()["firstName"], response.json()["jobTitle"]) == ("Grace", "RADM")


async def test_put_normalises_the_phone_number(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    response = await client.put(
        f"{USERS}/{created['id']}", json=user_payload(phoneNumber="+1 (512) 555-0100")
    )
    assert response.json()["phoneNumber"] == "+15125550100"


async def test_put_of_an_unknown_user_is_a_404_and_creates_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client, storage, "PUT", f"{USERS}/ghost", json=user_payload(), status=404, field=None
    )


async def test_put_without_a_required_field_is_rejected(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{created['id']}",
        json={"firstName": "Grace", "lastName": "Hopper"},
        status=422,
        field="email",
    )


@pytest.mark.parametrize("field", list(READ_ONLY_FIELDS))
async def test_put_rejects_read_only_fields(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{created['id']}",
        json=user_payload(**{field: READ_ONLY_FIELDS[field]}),
        status=422,
        field=to_camel(field),
    )


async def test_put_taking_another_users_email_is_a_conflict(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, email="ada@example.com")
    grace = await create_user(client, email="grace@example.com")
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{grace['id']}",
        json=user_payload(email="Ada@Example.com"),
        status=409,
        field=None,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "nope"), ("phoneNumber", "12"), ("firstName", 1), ("city", "c" * 101)],
)
async def test_put_with_bad_input_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, field: str, value: Any
) -> None:
    created = await create_user(client, **full_payload())
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{created['id']}",
        json=user_payload(**{field: value}),
        status=422,
        field=field,
    )


# --- PATCH /users/{id} -------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    response = await client.patch(f"{USERS}/{created['id']}", json={"city": "Boston"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["city"] == "Boston"
    unchanged = set(created) - {"city", "updatedAt"}
    assert {k: body[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert (await client.get(f"{USERS}/{created['id']}")).json() == body


async def test_patch_moves_updated_at_only(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    body = (await client.patch(f"{USERS}/{created['id']}", json={"company": "Acme"})).json()
    assert body["createdAt"] == created["createdAt"]
    assert datetime.fromisoformat(body["updatedAt"]) > datetime.fromisoformat(created["updatedAt"])


async def test_patch_with_null_clears_an_optional_field(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    response = await client.patch(
        f"{USERS}/{created['id']}", json={"company": None, "phoneNumber": None}
    )
    body = response.json()
    assert (body["company"], body["phoneNumber"]) == (None, None)
    assert body["city"] == created["city"]
    assert (await client.get(f"{USERS}/{created['id']}")).json() == body


async def test_patch_accepts_snake_case_fields(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    response = await client.patch(
        f"{USERS}/{created['id']}", json={"job_title": "CTO", "phone_number": "+1 512 555 0100"}
    )
    assert (response.json()["jobTitle"], response.json()["phoneNumber"]) == ("CTO", "+15125550100")


async def test_patch_may_change_the_case_of_the_users_own_email(
    client: httpx.AsyncClient,
) -> None:
    created = await create_user(client, email="ada@example.com")
    response = await client.patch(f"{USERS}/{created['id']}", json={"email": "Ada@Example.com"})
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "Ada@example.com"


async def test_patch_taking_another_users_email_is_a_conflict(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, email="ada@example.com")
    grace = await create_user(client, email="grace@example.com")
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{USERS}/{grace['id']}",
        json={"email": "ADA@example.com"},
        status=409,
        field=None,
    )


@pytest.mark.parametrize("field", ["firstName", "lastName", "email", "first_name"])
async def test_patch_cannot_clear_a_required_field(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{USERS}/{created['id']}",
        json={field: None},
        status=422,
        field=to_camel(field),
    )


@pytest.mark.parametrize("field", list(READ_ONLY_FIELDS))
async def test_patch_rejects_read_only_fields(
    client: httpx.AsyncClient, storage: Storage, field: str
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{USERS}/{created['id']}",
        json={"city": "Boston", field: READ_ONLY_FIELDS[field]},
        status=422,
        field=to_camel(field),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("phoneNumber", "call me"),
        ("lastName", 5),
        ("company", "c" * 201),
        ("nickname", "Countess"),
    ],
)
async def test_patch_with_bad_input_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, field: str, value: Any
) -> None:
    created = await create_user(client, **full_payload())
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{USERS}/{created['id']}",
        json={"city": "Boston", field: value},
        status=422,
        field=field,
    )


async def test_patch_of_an_unknown_user_is_a_404(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client, storage, "PATCH", f"{USERS}/ghost", json={"city": "X"}, status=404, field=None
    )


async def test_patch_with_malformed_json_is_a_400(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PATCH",
        f"{USERS}/{created['id']}",
        content=b"{'city': 'single quotes'}",
        headers={"content-type": "application/json"},
        status=400,
        field="body",
    )


# --- DELETE /users/{id} ------------------------------------------------------------------


async def test_delete_answers_204_and_the_user_is_gone(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    response = await client.delete(f"{USERS}/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{USERS}/{created['id']}"), 404)


async def test_delete_twice_is_a_404_the_second_time(client: httpx.AsyncClient) -> None:
    created = await create_user(client)
    await client.delete(f"{USERS}/{created['id']}")
    assert_problem(await client.delete(f"{USERS}/{created['id']}"), 404)


async def test_delete_removes_only_that_user(client: httpx.AsyncClient) -> None:
    ada, grace = await create_user(client), await create_user(client)
    await client.delete(f"{USERS}/{ada['id']}")
    assert ids(await client.get(USERS)) == [grace["id"]]


async def test_a_deleted_users_email_can_be_reused(client: httpx.AsyncClient) -> None:
    created = await create_user(client, email="ada@example.com")
    await client.delete(f"{USERS}/{created['id']}")
    await create_user(client, email="ADA@example.com")


# --- GET /users: listing, filters, sorting, pages ---------------------------------------


async def test_list_of_an_empty_database_is_an_empty_last_page(client: httpx.AsyncClient) -> None:
    response = await client.get(USERS)
    assert response.status_code == 200
    body = response.json()
    assert (body["items"], body["nextCursor"], body.get("total")) == ([], None, None)


async def test_list_defaults_to_oldest_first(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(
        storage,
        make_user(id="b", created_at=T0 + timedelta(hours=2)),
        make_user(id="c", created_at=T0),
        make_user(id="a", created_at=T0 + timedelta(hours=1)),
    )
    assert ids(await client.get(USERS)) == ["c", "a", "b"]


async def test_list_items_are_camel_case_users(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    assert (await client.get(USERS)).json()["items"] == [created]


@pytest.mark.parametrize(
    ("param", "attribute"),
    [("company", "company"), ("job_title", "job_title"), ("city", "city"), ("state", "state")],
)
async def test_a_text_filter_matches_exactly_ignoring_case(
    client: httpx.AsyncClient, storage: Storage, param: str, attribute: str
) -> None:
    await store(
        storage,
        make_user(id="u1", **{attribute: "Austin"}),
        make_user(id="u2", **{attribute: "AUSTIN"}),
        make_user(id="u3", **{attribute: "Austin West"}),
        make_user(id="u4", **{attribute: None}),
        make_user(id="u5", **{attribute: "Boston"}),
    )
    assert sorted(ids(await client.get(USERS, params={param: "austin"}))) == ["u1", "u2"]


@pytest.mark.parametrize(
    ("param", "attribute"),
    [("company", "company"), ("job_title", "job_title"), ("city", "city"), ("state", "state")],
)
async def test_a_repeated_text_filter_matches_any_of_its_values(
    client: httpx.AsyncClient, storage: Storage, param: str, attribute: str
) -> None:
    await store(
        storage,
        make_user(id="u1", **{attribute: "Austin"}),
        make_user(id="u2", **{attribute: "boston"}),
        make_user(id="u3", **{attribute: "Chicago"}),
        make_user(id="u4", **{attribute: None}),
    )
    response = await client.get(USERS, params=[(param, "AUSTIN"), (param, "Boston")])
    assert sorted(ids(response)) == ["u1", "u2"]


async def test_filters_on_different_fields_must_all_match(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", company="Acme", city="Austin"),
        make_user(id="u2", company="Acme", city="Boston"),
        make_user(id="u3", company="Globex", city="Austin"),
    )
    response = await client.get(USERS, params={"company": "acme", "city": "austin"})
    assert ids(response) == ["u1"]


async def test_q_matches_each_word_in_first_name_last_name_or_email(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="names", first_name="Ada", last_name="Lovelace", email="a@example.com"),
        make_user(id="email", first_name="Ada", last_name="Byron", email="lovelace@x.org"),
        make_user(id="first", first_name="Lovelace", last_name="Adams", email="b@example.com"),
        make_user(id="one_word", first_name="Ada", last_name="King", email="c@example.com"),
        make_user(id="none", first_name="Grace", last_name="Hopper", email="d@example.com"),
    )
    response = await client.get(USERS, params={"q": "ADA love"})
    assert sorted(ids(response)) == ["email", "first", "names"]


async def test_q_treats_like_wildcards_literally(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", email="a_b@example.com"),
        make_user(id="u2", email="axb@example.com"),
        make_user(id="u3", last_name="100%"),
        make_user(id="u4", last_name="1000"),
    )
    assert ids(await client.get(USERS, params={"q": "a_b"})) == ["u1"]
    assert ids(await client.get(USERS, params={"q": "0%"})) == ["u3"]


@pytest.mark.parametrize("counter", ["events_hosted", "events_attended"])
async def test_min_and_max_event_counts_are_inclusive(
    client: httpx.AsyncClient, storage: Storage, counter: str
) -> None:
    await store(storage, *(make_user(id=f"u{n}", **{counter: n}) for n in range(5)))
    response = await client.get(USERS, params={f"min_{counter}": 1, f"max_{counter}": 3})
    assert sorted(ids(response)) == ["u1", "u2", "u3"]
    assert sorted(ids(await client.get(USERS, params={f"min_{counter}": 4}))) == ["u4"]
    assert sorted(ids(await client.get(USERS, params={f"max_{counter}": 0}))) == ["u0"]


async def test_created_after_is_inclusive_and_created_before_exclusive(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage, *(make_user(id=f"u{h}", created_at=T0 + timedelta(hours=h)) for h in range(4))
    )
    t1, t3 = (T0 + timedelta(hours=h) for h in (1, 3))
    after = await client.get(USERS, params={"created_after": t1.isoformat()})
    assert ids(after) == ["u1", "u2", "u3"]
    before = await client.get(USERS, params={"created_before": t3.isoformat()})
    assert ids(before) == ["u0", "u1", "u2"]
    both = await client.get(
        USERS, params={"created_after": t1.isoformat(), "created_before": t3.isoformat()}
    )
    assert ids(both) == ["u1", "u2"]


async def test_created_after_compares_instants_across_time_zones(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="early", created_at=T0),
        make_user(id="late", created_at=T0 + timedelta(hours=1)),
    )
    # 11:00+02:00 is 09:00Z, the first user's creation instant.
    response = await client.get(USERS, params={"created_after": "2026-01-01T11:00:00+02:00"})
    assert ids(response) == ["early", "late"]


async def test_a_created_range_mixing_naive_and_offset_times_is_accepted(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", created_at=T0))
    response = await client.get(
        USERS,
        params={"created_after": "2026-01-01T08:00:00", "created_before": "2026-01-01T10:00:00Z"},
    )
    assert ids(response) == ["u1"]


async def test_sort_orders_by_each_key_in_turn_ignoring_case(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        make_user(id="u1", last_name="baker", created_at=T0),
        make_user(id="u2", last_name="Adams", created_at=T0),
        make_user(id="u3", last_name="adams", created_at=T0 + timedelta(hours=1)),
        make_user(id="u4", last_name="Carter", created_at=T0),
    )
    response = await client.get(USERS, params={"sort": "last_name,-created_at"})
    assert ids(response) == ["u3", "u2", "u1", "u4"]


async def test_sort_accepts_camel_case_field_names(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, make_user(id="u1", events_hosted=1), make_user(id="u2", events_hosted=2))
    assert ids(await client.get(USERS, params={"sort": "-eventsHosted"})) == ["u2", "u1"]


async def test_ties_in_the_sort_are_broken_by_id_in_the_direction_of_the_last_key(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=i, company="Acme") for i in ("c", "a", "b")))
    assert ids(await client.get(USERS, params={"sort": "company"})) == ["a", "b", "c"]
    assert ids(await client.get(USERS, params={"sort": "-company"})) == ["c", "b", "a"]


async def test_limit_caps_the_page_and_a_cursor_follows(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(3)))
    response = await client.get(USERS, params={"limit": 2})
    assert len(ids(response)) == 2
    assert isinstance(response.json()["nextCursor"], str)


async def test_the_default_page_holds_twenty_users(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n:02d}") for n in range(21)))
    assert len(ids(await client.get(USERS))) == 20


async def test_a_full_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(storage, *(make_user(id=f"u{n}") for n in range(4)))
    pages = await walk(client, {"limit": 2})
    assert [len(p) for p in pages] == [2, 2]


async def test_walking_all_pages_yields_every_user_once_in_sort_order(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage,
        *(
            make_user(
                id=f"u{n:02d}",
                company=("Acme", "acme", "Globex", None)[n % 4],
                events_hosted=n % 3,
                created_at=T0 + timedelta(minutes=n % 2),
            )
            for n in range(17)
        ),
    )
    sort = "company,-events_hosted,created_at"
    everything = ids(await client.get(USERS, params={"sort": sort, "limit": 100}))
    pages = await walk(client, {"sort": sort, "limit": 4})
    assert [len(p) for p in pages] == [4, 4, 4, 4, 1]
    assert [i for page in pages for i in page] == everything
    assert len(set(everything)) == 17


async def test_pages_keep_the_filter(client: httpx.AsyncClient, storage: Storage) -> None:
    await store(
        storage, *(make_user(id=f"u{n:02d}", city=("Austin", "Boston")[n % 2]) for n in range(9))
    )
    pages = await walk(client, {"city": "austin", "limit": 2})
    assert [i for page in pages for i in page] == ["u00", "u02", "u04", "u06", "u08"]


async def test_include_total_counts_every_match_not_just_the_page(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await store(
        storage, *(make_user(id=f"u{n}", city=("Austin", "Boston")[n % 2]) for n in range(7))
    )
    response = await client.get(
        USERS, params={"city": "Austin", "limit": 2, "include_total": "true"}
    )
    assert len(ids(response)) == 2
    assert response.json()["total"] == 4


async def test_total_is_not_given_unless_asked_for(client: httpx.AsyncClient) -> None:
    await create_user(client)
    assert (await client.get(USERS)).json().get("total") is None


# --- bad input on GET /users -------------------------------------------------------------


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


# --- POST /users/search ------------------------------------------------------------------


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
        ({"field": "email", "op": "is_null", "value": True}, "filter.op"),
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
