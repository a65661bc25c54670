"""POST /users with bad input: each refusal is a 4xx problem naming the field and writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_user, user_payload
from tests.support.users_api import USERS


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


async def test_a_missing_first_name_is_rejected(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    # The first name is the one required field (a last name and an email are optional).
    payload = user_payload()
    del payload["firstName"]
    await assert_refused(
        client, storage, "POST", USERS, json=payload, status=422, field="firstName"
    )


@pytest.mark.parametrize("field", ["firstName"])
async def test_a_blank_first_name_is_rejected(
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
        field=field,  # named as the client spelled it
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
