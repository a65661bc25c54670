"""Contacts written with earlier systems' field names (docs/migrating.md), contacts
without an email, and errors that name a field as the client spelled it."""

from __future__ import annotations

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_user, user_payload
from tests.support.users_api import USERS


async def test_a_seed_002_user_with_an_id_and_a_whole_name_is_created(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(USERS, json={"userId": "user-123", "name": "John Doe"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["firstName"], body["lastName"]) == ("user-123", "John", "Doe")
    assert body["email"] is None
    assert "userId" not in body
    assert "name" not in body


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Cher", "Cher", ""),
        ("Mary Ann Evans", "Mary Ann", "Evans"),
        ("  Ada   Lovelace ", "Ada", "Lovelace"),
    ],
)
async def test_a_whole_name_splits_at_the_last_word(
    client: httpx.AsyncClient, name: str, first: str, last: str
) -> None:
    response = await client.post(USERS, json={"name": name})
    assert response.status_code == 201, response.text
    assert (response.json()["firstName"], response.json()["lastName"]) == (first, last)


async def test_snake_case_and_short_aliases_map_to_the_canonical_fields(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        USERS,
        json={
            "user_id": "u-7",
            "first_name": "Grace",
            "last_name": "Hopper",
            "phone": "+1 512 555 0100",
            "job_title": "RADM",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["phoneNumber"], body["jobTitle"]) == ("u-7", "+15125550100", "RADM")


async def test_an_alias_and_its_field_with_different_values_are_refused_naming_both(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    body = await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(userId="a", id="b"),
        status=422,
        field="userId",
    )
    message = body["errors"][0]["message"]
    assert "userId" in message
    assert "id" in message


async def test_an_alias_and_its_field_with_the_same_value_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(USERS, json=user_payload(userId="same", id="same"))
    assert response.status_code == 201, response.text
    assert response.json()["id"] == "same"


async def test_a_name_that_disagrees_with_first_name_is_refused(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json={"name": "John Doe", "firstName": "Jane"},
        status=422,
        field="name",
    )


async def test_put_takes_a_whole_name_and_a_phone_alias(client: httpx.AsyncClient) -> None:
    created = await create_user(client, city="Austin")
    response = await client.put(
        f"{USERS}/{created['id']}", json={"name": "Ada Lovelace", "phone": "+15125550101"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["firstName"], body["lastName"], body["phoneNumber"], body["city"]) == (
        "Ada",
        "Lovelace",
        "+15125550101",
        "Austin",
    )


# --- errors name the field as sent ------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "value"),
    [("user_id", "has space"), ("userId", "has space"), ("job_title", "j" * 201)],
)
async def test_an_error_names_the_field_as_the_client_spelled_it(
    client: httpx.AsyncClient, storage: Storage, sent: str, value: str
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(**{sent: value}),
        status=422,
        field=sent,
        location=["body", sent],
    )


async def test_an_alias_error_names_the_alias(client: httpx.AsyncClient, storage: Storage) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(phone="p" * 41),
        status=422,
        field="phone",
    )


@pytest.mark.parametrize("sent", ["phone", "phone_number", "phoneNumber"])
async def test_an_invalid_phone_number_is_named_as_sent(
    client: httpx.AsyncClient, storage: Storage, sent: str
) -> None:
    # The number is checked by the service (it needs the default region), after the
    # body was parsed: the error still names the field the client wrote.
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(**{sent: "12"}),
        status=422,
        code="invalid_input",
        field=sent,
        location=["body", sent],
    )


async def test_an_invalid_phone_on_put_is_named_as_sent(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{created['id']}",
        json={"phone": "not a number"},
        status=422,
        field="phone",
    )


# --- contacts without an email ----------------------------------------------------------


async def test_contacts_without_an_email_can_be_many(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        response = await client.post(USERS, json={"firstName": "Walk", "lastName": "In"})
        assert response.status_code == 201, response.text
        assert response.json()["email"] is None


async def test_an_email_stays_unique_case_insensitively(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await create_user(client, email="ada@example.com")
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        json=user_payload(email="ADA@example.com"),
        status=409,
    )


async def test_null_clears_an_email_and_another_contact_may_then_take_it(
    client: httpx.AsyncClient,
) -> None:
    ada = await create_user(client, email="ada@example.com")
    response = await client.patch(f"{USERS}/{ada['id']}", json={"email": None})
    assert response.status_code == 200, response.text
    assert response.json()["email"] is None
    assert (await client.post(USERS, json=user_payload(email="ada@example.com"))).status_code == 201
