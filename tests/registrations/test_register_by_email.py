"""POST /events/{id}/registrations by email: the contact with that email, or a new one
created in the same transaction (seed 004's attendees, a public sign-up form)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request

from eventcrm.access.domain import Actor, Role
from eventcrm.api.auth import get_actor
from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_event, create_user
from tests.support.registrations_api import participants, registrations_url
from tests.support.users_api import USERS

SIGN_UP = {
    "email": "Ada@Example.com",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "phoneNumber": "+1 512 555 0100",
}


async def _contacts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get(USERS, params={"limit": 100})).json()["items"]  # type: ignore[no-any-return]


async def test_an_unknown_email_creates_the_contact_and_registers_it(
    client: httpx.AsyncClient,
) -> None:
    event = await create_event(client, capacity=5)
    response = await client.post(registrations_url(event["id"]), json=SIGN_UP)
    assert response.status_code == 201, response.text
    registration = response.json()
    assert registration["status"] == "registered"
    [contact] = await _contacts(client)
    assert contact["id"] == registration["userId"]
    assert (contact["firstName"], contact["lastName"], contact["email"]) == (
        "Ada",
        "Lovelace",
        "Ada@example.com",  # the domain is lowercased, as on POST /users
    )
    assert contact["phoneNumber"] == "+15125550100"
    assert contact["eventsAttended"] == 1


async def test_a_known_email_registers_that_contact_unchanged(
    client: httpx.AsyncClient,
) -> None:
    known = await create_user(client, email="ada@example.com", firstName="Augusta")
    event = await create_event(client)
    response = await client.post(registrations_url(event["id"]), json=SIGN_UP)
    assert response.status_code == 201, response.text
    assert response.json()["userId"] == known["id"]
    [contact] = await _contacts(client)
    assert (contact["firstName"], contact["email"]) == ("Augusta", "ada@example.com")


async def test_the_seed_004_attendee_shape_is_accepted(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    response = await client.post(
        registrations_url(event["id"]),
        json={
            "name": "Grace Brewster Hopper",
            "email": "grace@example.com",
            "phone": "+15125550101",
        },
    )
    assert response.status_code == 201, response.text
    [person] = await participants(client, event["id"])
    assert (person["firstName"], person["lastName"], person["phoneNumber"]) == (
        "Grace Brewster",
        "Hopper",
        "+15125550101",
    )


async def test_the_same_email_twice_on_one_event_is_409_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    assert (await client.post(registrations_url(event["id"]), json=SIGN_UP)).status_code == 201
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        json={**SIGN_UP, "email": "ADA@example.COM"},
        status=409,
        code="already_registered",
    )


async def test_a_new_contact_needs_a_first_name_and_nothing_is_written_without_it(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        json={"email": "nobody@example.com"},
        status=422,
        field="firstName",
    )


async def test_a_refused_registration_creates_no_contact(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client, capacity=0, waitlistEnabled=False)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        json=SIGN_UP,
        status=409,
        code="event_full",
    )


async def test_a_bad_phone_number_creates_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        json={**SIGN_UP, "phoneNumber": "12"},
        status=422,
        field="phoneNumber",
    )


async def test_a_bad_phone_sent_as_phone_is_named_phone(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(client)
    attendee = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "12"}
    await assert_refused(
        client,
        storage,
        "POST",
        registrations_url(event["id"]),
        json=attendee,
        status=422,
        field="phone",
        location=["body", "phone"],
    )


@pytest.mark.parametrize(
    "body",
    [
        {"userId": "someone", "email": "a@example.com"},
        {"firstName": "Ada"},
        {},
        {"userId": "someone", "firstName": "Ada"},
        {"email": "not-an-email", "firstName": "Ada"},
    ],
)
async def test_a_body_naming_no_one_or_two_people_is_refused(
    client: httpx.AsyncClient, storage: Storage, body: dict[str, Any]
) -> None:
    event = await create_event(client)
    await assert_refused(
        client, storage, "POST", registrations_url(event["id"]), json=body, status=422
    )


# --- roles ------------------------------------------------------------------------------


@pytest.fixture
async def acting(settings: Settings, storage: Storage) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose actor a test chooses (``client.app.state.acting``)."""
    app = create_app(settings, container=build_container(settings, storage=storage))

    async def chosen(request: Request) -> Actor:
        request.state.actor = request.app.state.acting
        return request.app.state.acting  # type: ignore[no-any-return]

    app.state.acting = Actor(id="t:admin", role=Role.ADMIN, label="root")
    app.dependency_overrides[get_actor] = chosen
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def test_an_organizer_registers_a_new_person_for_its_own_event(
    acting: httpx.AsyncClient,
) -> None:
    person = await create_user(acting)
    organizer = Actor(id="t:org", role=Role.ORGANIZER, label="org", user_id=person["id"])
    event = await create_event(acting, ownerId=person["id"])
    acting.app.state.acting = organizer  # type: ignore[attr-defined]
    response = await acting.post(registrations_url(event["id"]), json=SIGN_UP)
    assert response.status_code == 201, response.text


async def test_an_organizer_cannot_register_people_for_another_event(
    acting: httpx.AsyncClient, storage: Storage
) -> None:
    person = await create_user(acting)
    event = await create_event(acting)
    acting.app.state.acting = Actor(  # type: ignore[attr-defined]
        id="t:org", role=Role.ORGANIZER, label="org", user_id=person["id"]
    )
    await assert_refused(
        acting, storage, "POST", registrations_url(event["id"]), json=SIGN_UP, status=404
    )


async def test_a_viewer_cannot_register_by_email(
    acting: httpx.AsyncClient, storage: Storage
) -> None:
    event = await create_event(acting)
    acting.app.state.acting = Actor(id="t:v", role=Role.VIEWER, label="v")  # type: ignore[attr-defined]
    await assert_refused(
        acting, storage, "POST", registrations_url(event["id"]), json=SIGN_UP, status=403
    )
