"""PUT and PATCH /users/{id}: changing a contact (both change only what they are sent),
and refusing bad changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_user, user_payload
from tests.support.users_api import OPTIONAL_FIELDS, USERS, full_payload

READ_ONLY_FIELDS = {
    "id": "someone-else",
    "eventsHosted": 3,
    "eventsAttended": 4,
    "createdAt": "2020-01-01T00:00:00Z",
    "updatedAt": "2020-01-01T00:00:00Z",
    "events_hosted": 3,
    "created_at": "2020-01-01T00:00:00Z",
}


# --- PUT /users/{id} ---------------------------------------------------------------------


async def test_put_changes_only_the_fields_sent_and_keeps_the_others(
    client: httpx.AsyncClient,
) -> None:
    created = await create_user(client, **full_payload())
    response = await client.put(f"{USERS}/{created['id']}", json={"city": "Boston"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["city"] == "Boston"
    unchanged = [k for k in (*OPTIONAL_FIELDS, "firstName", "lastName", "email") if k != "city"]
    assert {k: body[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert (await client.get(f"{USERS}/{created['id']}")).json() == body


async def test_put_with_null_clears_an_optional_field(client: httpx.AsyncClient) -> None:
    created = await create_user(client, **full_payload())
    response = await client.put(f"{USERS}/{created['id']}", json={"company": None, "city": None})
    assert response.status_code == 200, response.text
    assert (response.json()["company"], response.json()["city"]) == (None, None)
    assert response.json()["jobTitle"] == created["jobTitle"]


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


async def test_put_clearing_a_required_field_is_rejected(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    created = await create_user(client)
    await assert_refused(
        client,
        storage,
        "PUT",
        f"{USERS}/{created['id']}",
        json={"firstName": None, "lastName": "Hopper"},
        status=422,
        field="firstName",
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
        field=field,  # named as the client spelled it
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


@pytest.mark.parametrize("field", ["firstName", "lastName", "first_name"])
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
        field=field,  # named as the client spelled it
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
        field=field,  # named as the client spelled it
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
