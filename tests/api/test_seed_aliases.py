"""The earlier systems' requests (docs/migrating.md): each deprecated alias answers
what its canonical route answers, through the same service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.campaigns.domain import PREDEFINED_SUBJECT
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.factories import create_event, create_template, create_user, register

API = "/api/v1"


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _hosts_and_attendees(client: httpx.AsyncClient) -> dict[str, Any]:
    """Two hosts at Acme (one hosting two events), an attendee at Acme, one elsewhere."""
    busy = await create_user(client, company="Acme", city="Austin")
    once = await create_user(client, company="Acme")
    guest = await create_user(client, company="Acme")
    other = await create_user(client, company="Initech")
    first = await create_event(client, ownerId=busy["id"])
    await create_event(client, ownerId=busy["id"])
    await register(client, first["id"], once["id"], role="host")
    await register(client, first["id"], guest["id"])
    await register(client, first["id"], other["id"])
    return {"busy": busy, "once": once, "guest": guest, "other": other, "event": first}


async def test_filter_answers_what_search_answers(client: httpx.AsyncClient) -> None:
    people = await _hosts_and_attendees(client)
    alias = await client.post(
        f"{API}/users/filter", json={"filter": {"role": "host", "company": "Acme"}, "limit": 10}
    )
    canonical = await client.post(
        f"{API}/users/search",
        json={
            "filter": {
                "and": [
                    {"field": "company", "op": "in", "value": ["Acme"]},
                    {"field": "role", "op": "eq", "value": "host"},
                ]
            },
            "limit": 10,
        },
    )
    assert _ids(alias) == _ids(canonical)
    assert set(_ids(alias)) == {people["once"]["id"]}
    assert alias.json() == canonical.json()


async def test_filter_takes_get_users_criteria_and_lists(client: httpx.AsyncClient) -> None:
    people = await _hosts_and_attendees(client)
    alias = await client.post(
        f"{API}/users/filter",
        json={"filter": {"company": ["Acme", "Initech"], "min_events_attended": 1}},
    )
    listed = await client.get(
        f"{API}/users",
        params={"company": ["Acme", "Initech"], "min_events_attended": 1},
    )
    assert sorted(_ids(alias)) == sorted(_ids(listed))
    assert set(_ids(alias)) == {people["guest"]["id"], people["other"]["id"]}


async def test_filter_refuses_bad_criteria(client: httpx.AsyncClient) -> None:
    for body in (
        {"filter": {"role": "king"}},
        {"filter": {"min_events_hosted": 3, "max_events_hosted": 1}},
        {"filter": {"colour": "red"}},
        {"filter": {"company": "x" * 10_000}},
    ):
        assert_problem(await client.post(f"{API}/users/filter", json=body), 422)


async def test_filter_by_counts_hosted_events(client: httpx.AsyncClient) -> None:
    people = await _hosts_and_attendees(client)
    twice = await client.post(f"{API}/users/filter_by?min_events=2&role=owner")
    assert _ids(twice) == [people["busy"]["id"]]
    hosts = await client.post(f"{API}/users/filter_by?min_events=1&role=host")
    assert _ids(hosts) == [people["once"]["id"]]
    attendees = await client.post(f"{API}/users/filter_by?min_events=1&role=attendee")
    assert set(_ids(attendees)) == {people["guest"]["id"], people["other"]["id"]}
    assert_problem(await client.post(f"{API}/users/filter_by?min_events=-1"), 422)


async def test_send_email_queues_the_built_in_message(client: httpx.AsyncClient) -> None:
    a, b = await create_user(client), await create_user(client)
    response = await client.post(f"{API}/users/send_email", json={"user_ids": [a["id"], b["id"]]})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["recipientCount"] == 2
    assert body["counts"]["queued"] == 2
    campaign = (await client.get(body["campaignUrl"])).json()
    assert campaign["id"] == body["campaignId"]
    assert campaign["subject"] == PREDEFINED_SUBJECT
    assert campaign["audience"] == {"userIds": [a["id"], b["id"]]}


async def test_send_email_refuses_unknown_ids(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/users/send_email", json={"user_ids": ["nobody"]})
    assert_problem(response, 422)
    assert (await client.get(f"{API}/campaigns")).json()["items"] == []


@pytest.fixture
async def templated(settings: Settings, storage: Storage) -> AsyncIterator[httpx.AsyncClient]:
    """An administrator's client of an app with a predefined email template."""
    configured = settings.model_copy(update={"predefined_email_template": "Seed welcome"})
    app = create_app(configured, container=build_container(configured, storage=storage))
    await seed_admin_key(storage)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http


async def test_send_email_uses_the_configured_template(templated: httpx.AsyncClient) -> None:
    user = await create_user(templated)
    missing = await templated.post(f"{API}/users/send_email", json={"user_ids": [user["id"]]})
    assert assert_problem(missing, 409)["type"].endswith("predefined_template_missing")
    template = await create_template(templated, name="Seed welcome")
    response = await templated.post(f"{API}/users/send_email", json={"user_ids": [user["id"]]})
    assert response.status_code == 202, response.text
    campaign = (await templated.get(response.json()["campaignUrl"])).json()
    assert campaign["templateId"] == template["id"]


async def test_send_emails_to_ids_is_a_send(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        f"{API}/emails/send-emails",
        json={"user_ids": [user["id"]], "subject": "Hello", "body": "Hi there"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["recipientCount"] == 1
    campaign = (await client.get(body["campaignUrl"])).json()
    assert (campaign["subject"], campaign["text"], campaign["html"]) == ("Hello", "Hi there", None)
    assert campaign["counts"]["queued"] == 1


async def test_send_emails_to_a_filter_reaches_what_get_users_lists(
    client: httpx.AsyncClient,
) -> None:
    await _hosts_and_attendees(client)
    criteria: dict[str, str | int] = {"company": "Acme", "min_events_attended": 1}
    response = await client.post(
        f"{API}/emails/send-emails",
        json={"filter": criteria, "subject": "Hello", "html": "<p>Hi</p>"},
    )
    assert response.status_code == 202, response.text
    listed = await client.get(f"{API}/users", params=criteria)
    assert response.json()["recipientCount"] == len(_ids(listed)) == 1


async def test_send_emails_needs_one_audience_and_a_body(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    for body in (
        {"subject": "Hello", "body": "Hi"},
        {"user_ids": [user["id"]], "filter": {}, "subject": "Hello", "body": "Hi"},
        {"user_ids": [user["id"]], "subject": "Hello"},
        {"user_ids": [user["id"]], "body": "Hi"},
    ):
        assert_problem(await client.post(f"{API}/emails/send-emails", json=body), 422)
    assert (await client.get(f"{API}/campaigns")).json()["items"] == []


async def test_attendees_is_the_registered_attendee_list(client: httpx.AsyncClient) -> None:
    people = await _hosts_and_attendees(client)
    event_id = people["event"]["id"]
    alias = await client.get(f"{API}/events/{event_id}/attendees")
    canonical = await client.get(
        f"{API}/events/{event_id}/registrations",
        params={"status": "registered", "role": "attendee"},
    )
    assert alias.status_code == 200, alias.text
    assert alias.json() == canonical.json()
    assert [p["userId"] for p in alias.json()["items"]] == [
        people["guest"]["id"],
        people["other"]["id"],
    ]
    assert_problem(await client.get(f"{API}/events/nope/attendees"), 404)


async def test_aliases_are_deprecated_and_name_their_canonical_route(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    aliases = {
        "/users/filter": "POST /users/search",
        "/users/filter_by": "POST /users/search",
        "/users/send_email": "POST /emails/send",
        "/emails/send-emails": "POST /emails/send",
    }
    for path, canonical in aliases.items():
        operation = paths[f"{API}{path}"]["post"]
        assert operation["deprecated"] is True
        assert canonical in operation["description"]
    assert "deprecated" not in paths[f"{API}/users/search"]["post"]
    assert "deprecated" not in paths[f"{API}/events/{{event_id}}/attendees"]["get"]
