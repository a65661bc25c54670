"""POST /users: creating a contact, over the ASGI app on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.auth import ADMIN
from tests.support.factories import create_user, user_payload
from tests.support.users_api import OPTIONAL_FIELDS, USERS, full_payload


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
