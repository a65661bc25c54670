"""The role rules a user notices beyond allowed/refused: ownership on create,
hidden contact details, the records of who changed what, the access log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from eventcrm.access.domain import Actor, Role
from eventcrm.api.auth import get_actor
from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_refused
from tests.support.factories import create_user

API = "/api/v1"
WHEN = {"startAt": "2030-01-01T10:00:00Z", "endAt": "2030-01-01T12:00:00Z"}
ADMIN = Actor(id="t:admin", role=Role.ADMIN, label="root")
VIEWER = Actor(id="t:viewer", role=Role.VIEWER, label="reader")


def _app(settings: Settings, storage: Storage, **overrides: Any) -> FastAPI:
    settings = settings.model_copy(update=overrides)
    app = create_app(settings, container=build_container(settings, storage=storage))

    async def acting(request: Request) -> Actor:
        request.state.actor = request.app.state.acting
        return request.app.state.acting  # type: ignore[no-any-return]

    app.state.acting = ADMIN
    app.dependency_overrides[get_actor] = acting
    return app


@pytest.fixture
async def http(settings: Settings, storage: Storage) -> AsyncIterator[httpx.AsyncClient]:
    app = _app(settings, storage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def act(client: httpx.AsyncClient, actor: Actor) -> None:
    client.app.state.acting = actor  # type: ignore[attr-defined]


async def _organizer(client: httpx.AsyncClient) -> tuple[Actor, dict[str, Any]]:
    person = await create_user(client)
    return Actor(id="t:org", role=Role.ORGANIZER, label="org", user_id=person["id"]), person


async def test_an_organizer_owns_what_it_creates(http: httpx.AsyncClient) -> None:
    organizer, person = await _organizer(http)
    act(http, organizer)
    response = await http.post(f"{API}/events", json={"title": "Mine", **WHEN})
    assert response.status_code == 201, response.text
    assert response.json()["ownerId"] == person["id"]
    assert response.json()["createdBy"] == response.json()["updatedBy"] == "org"


async def test_an_organizer_cannot_create_an_event_for_someone_else(
    http: httpx.AsyncClient, storage: Storage
) -> None:
    organizer, _ = await _organizer(http)
    someone = await create_user(http)
    act(http, organizer)
    body = {"title": "Theirs", **WHEN, "ownerId": someone["id"]}
    await assert_refused(http, storage, "POST", f"{API}/events", status=403, json=body)


async def test_a_host_cannot_hand_the_event_over(http: httpx.AsyncClient, storage: Storage) -> None:
    owner = await create_user(http)
    host, host_person = await _organizer(http)
    event = (
        await http.post(
            f"{API}/events",
            json={"title": "E", **WHEN, "ownerId": owner["id"], "hostIds": [host_person["id"]]},
        )
    ).json()
    act(http, host)
    url = f"{API}/events/{event['id']}"
    assert (await http.patch(url, json={"venue": "Hall"})).json()["updatedBy"] == "org"
    await assert_refused(http, storage, "PATCH", url, status=403, json={"ownerId": None})


async def test_organizers_see_details_only_of_their_participants(
    http: httpx.AsyncClient,
) -> None:
    organizer, person = await _organizer(http)
    mine = await create_user(http, phoneNumber="+15125550100")
    stranger = await create_user(http, phoneNumber="+15125550101")
    event = (
        await http.post(f"{API}/events", json={"title": "E", **WHEN, "ownerId": person["id"]})
    ).json()
    await http.post(f"{API}/events/{event['id']}/registrations", json={"userId": mine["id"]})
    act(http, organizer)
    seen = (await http.get(f"{API}/users/{mine['id']}")).json()
    assert (seen["email"], seen["phoneNumber"]) == (mine["email"], "+15125550100")
    hidden = (await http.get(f"{API}/users/{stranger['id']}")).json()
    assert (hidden["email"], hidden["phoneNumber"]) == (None, None)
    assert hidden["lastName"] == stranger["lastName"]
    listed = {u["id"]: u["email"] for u in (await http.get(f"{API}/users")).json()["items"]}
    assert listed[mine["id"]] == mine["email"]
    assert listed[stranger["id"]] is None


async def test_hidden_details_cannot_be_searched_for(
    http: httpx.AsyncClient,
) -> None:
    stranger = await create_user(http)
    act(http, VIEWER)
    found = await http.get(f"{API}/users", params={"q": stranger["email"]})
    assert found.json()["items"] == []
    by_filter = await http.post(
        f"{API}/users/search",
        json={"filter": {"field": "email", "op": "eq", "value": stranger["email"]}},
    )
    assert by_filter.status_code == 422
    assert (await http.get(f"{API}/users", params={"sort": "email"})).status_code == 422


async def test_viewers_see_details_when_the_setting_allows(
    settings: Settings, storage: Storage
) -> None:
    for allowed in (False, True):
        app = _app(settings, storage, viewer_sees_contact_details=allowed)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            person = await create_user(client)
            app.state.acting = VIEWER
            seen = (await client.get(f"{API}/users/{person['id']}")).json()
            assert seen["email"] == (person["email"] if allowed else None)


async def test_the_access_log_names_the_actor(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    act(http, VIEWER)
    with caplog.at_level(logging.INFO, logger="eventcrm.access"):
        await http.get(f"{API}/users")
    assert any("reader" in r.getMessage() for r in caplog.records if r.name == "eventcrm.access")
