"""The authorization matrix: every /api/v1 route, for every role, on a resource
the caller owns and one it does not.

The world holds two organizers' sides: organizer A owns event A (Alice is
registered), organizer B owns event B (Bob is registered); a campaign to each
event's participants. Every request targets A's side, so the organizer acting
for A is the owner and the organizer acting for B is "another organizer".

A refused request (403 or 404) goes through the normal, committing boundary
and must leave the database exactly as it was. An allowed request runs in a
transaction that is rolled back, so the shared world stays the same for every
case, and it must get past authorization (no 403, no 404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from eventcrm.access.domain import Actor, Role
from eventcrm.api.auth import get_actor
from eventcrm.api.deps import ContainerDep, get_unit_of_work
from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage, UnitOfWork
from tests.support.assertions import assert_problem
from tests.support.databases import empty, snapshot

API_PREFIX = "/api/v1"  # the default EVENTCRM_API_PREFIX

ACTORS = ("admin", "owner", "other", "viewer")
OK, FORBIDDEN, HIDDEN, PUBLIC = "ok", 403, 404, "public"

#: (method, path template) → expected outcome for (admin, owner, other, viewer).
#: ``ok`` passes authorization; 403 the role can never do it; 404 out of reach.
ALL_READ = (OK, OK, OK, OK)
ADMIN_ONLY = (OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
MANAGED_WRITE = (OK, OK, HIDDEN, FORBIDDEN)
MANAGED_READ = (OK, OK, HIDDEN, OK)
ORGANIZER_WRITE = (OK, OK, OK, FORBIDDEN)
HISTORY = (OK, FORBIDDEN, FORBIDDEN, OK)  # an organizer acting on what it creates

U, E, C = "{user_id}", "{event_id}", "{campaign_id}"
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    # contacts: names for everyone, changes by administrators only
    ("POST", "/users"): ADMIN_ONLY,
    ("GET", "/users"): ALL_READ,
    ("POST", "/users/search"): ALL_READ,
    ("GET", f"/users/{U}"): ALL_READ,
    ("PUT", f"/users/{U}"): ADMIN_ONLY,
    ("PATCH", f"/users/{U}"): ADMIN_ONLY,
    ("DELETE", f"/users/{U}"): ADMIN_ONLY,
    # a contact's history across events: beyond any one organizer's events
    ("GET", f"/users/{U}/events"): HISTORY,
    ("GET", f"/users/{U}/registrations"): HISTORY,
    ("GET", f"/users/{U}/waitlists"): HISTORY,
    ("POST", "/categories"): ADMIN_ONLY,
    ("GET", "/categories"): ALL_READ,
    ("GET", "/categories/{category_id}"): ALL_READ,
    ("PUT", "/categories/{category_id}"): ADMIN_ONLY,
    ("PATCH", "/categories/{category_id}"): ADMIN_ONLY,
    ("DELETE", "/categories/{category_id}"): ADMIN_ONLY,
    # events: organizers create their own and manage what they own or host
    ("POST", "/events"): ORGANIZER_WRITE,
    ("GET", "/events"): ALL_READ,
    ("GET", "/events/count"): ALL_READ,
    ("GET", "/events/by-slug/{slug}"): MANAGED_READ,
    ("GET", f"/events/{E}"): MANAGED_READ,
    ("PUT", f"/events/{E}"): MANAGED_WRITE,
    ("PATCH", f"/events/{E}"): MANAGED_WRITE,
    ("DELETE", f"/events/{E}"): MANAGED_WRITE,
    ("POST", f"/events/{E}/restore"): MANAGED_WRITE,
    ("POST", f"/events/{E}/registrations"): MANAGED_WRITE,
    ("GET", f"/events/{E}/registrations"): MANAGED_READ,
    ("DELETE", f"/events/{E}/registrations/{U}"): MANAGED_WRITE,
    ("POST", f"/events/{E}/registrations/{U}/check-in"): MANAGED_WRITE,
    ("GET", f"/events/{E}/attendees"): MANAGED_READ,
    # templates and segments are shared: administrators keep them
    ("POST", "/email-templates"): ADMIN_ONLY,
    ("GET", "/email-templates"): ALL_READ,
    ("GET", "/email-templates/{template_id}"): ALL_READ,
    ("PUT", "/email-templates/{template_id}"): ADMIN_ONLY,
    ("DELETE", "/email-templates/{template_id}"): ADMIN_ONLY,
    # the preview shows Alice's address: her event's organizer may see it
    ("POST", "/email-templates/{template_id}/preview"): (OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "/segments"): ADMIN_ONLY,
    ("GET", "/segments"): ALL_READ,
    ("GET", "/segments/{segment_id}"): ALL_READ,
    ("PUT", "/segments/{segment_id}"): ADMIN_ONLY,
    ("DELETE", "/segments/{segment_id}"): ADMIN_ONLY,
    ("GET", "/segments/{segment_id}/users"): ALL_READ,
    ("GET", "/segments/{segment_id}/count"): ALL_READ,
    # campaigns: organizers write to their events' participants only
    ("POST", "/campaigns"): MANAGED_WRITE,
    ("GET", "/campaigns"): ALL_READ,
    ("GET", f"/campaigns/{C}"): MANAGED_READ,
    ("DELETE", f"/campaigns/{C}"): MANAGED_WRITE,
    ("POST", f"/campaigns/{C}/send"): MANAGED_WRITE,
    ("POST", f"/campaigns/{C}/cancel"): MANAGED_WRITE,
    ("POST", f"/campaigns/{C}/retry-failed"): MANAGED_WRITE,
    ("GET", f"/campaigns/{C}/deliveries"): MANAGED_READ,
    ("POST", "/emails/send"): MANAGED_WRITE,
    # the seeds' aliases, as their canonical routes: searching is for everyone; a
    # list of ids or a filter as audience is for administrators (an organizer
    # writes to its events' participants only, as on /emails/send)
    ("POST", "/users/filter"): ALL_READ,
    ("POST", "/users/filter_by"): ALL_READ,
    ("POST", "/users/send_email"): ADMIN_ONLY,
    ("POST", "/emails/send-emails"): ADMIN_ONLY,
    # credentials: administrators only
    ("POST", "/api-keys"): ADMIN_ONLY,
    ("GET", "/api-keys"): ADMIN_ONLY,
    ("GET", "/api-keys/{prefix}"): ADMIN_ONLY,
    ("DELETE", "/api-keys/{prefix}"): ADMIN_ONLY,
    # the signed link is the credential: no role is involved
    ("GET", "/unsubscribe/{token}"): (PUBLIC,),
    ("POST", "/unsubscribe/{token}"): (PUBLIC,),
}
#: Routes outside the API prefix, and who may call them.
OUTSIDE_API: dict[tuple[str, str], str] = {
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    # This machine (loopback, not forwarded) or an administrator key; tests/api/test_metrics.py
    ("GET", "/metrics"): "loopback or admin",
    # The API's documentation pages (EVENTCRM_DOCS_ENABLED)
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
}
# An organizer's POST /campaigns and /emails/send to another organizer's event
# read as "no such event" (422 naming eventId), like an event that does not exist.
BODY_REFUSALS = {("POST", "/campaigns"), ("POST", "/emails/send")}


@dataclass
class World:
    ids: dict[str, str]
    storage: Storage
    client: httpx.AsyncClient


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, full path) of every API route, through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield from ((m, prefix + route.path) for m in route.methods or ())
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from _walk(router.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path.removeprefix(API_PREFIX))
        for method, path in _walk(app.routes)
        if path.startswith(API_PREFIX + "/")
    }


def test_every_route_is_classified(settings: Settings) -> None:
    app = create_app(settings)
    routes = _api_routes(app)
    assert routes - MATRIX.keys() == set(), "classify these routes in MATRIX"
    assert MATRIX.keys() - routes == set(), "these MATRIX entries name no route"


def test_every_route_outside_the_api_is_classified(settings: Settings) -> None:
    app = create_app(settings)
    outside = {(m, p) for m, p in _walk(app.routes) if not p.startswith(API_PREFIX + "/")}
    assert outside == OUTSIDE_API.keys()


@pytest.fixture(scope="module")
async def world(settings: Settings, _session_storage: Storage) -> AsyncIterator[World]:
    container = build_container(settings, storage=_session_storage)
    app = create_app(settings, container=container)
    actors: dict[str, Actor] = {}

    async def acting(request: Request) -> Actor:
        actor = actors[request.headers.get("x-test-actor", "admin")]
        request.state.actor = actor
        return actor

    async def unit_of_work(request: Request, container: ContainerDep) -> AsyncIterator[UnitOfWork]:
        write = request.method not in ("GET", "HEAD")
        async with container.storage.unit_of_work(write=write) as uow:
            yield uow
            if request.headers.get("x-test-commit") == "yes":
                await uow.commit()

    app.dependency_overrides[get_actor] = acting
    app.dependency_overrides[get_unit_of_work] = unit_of_work
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"x-test-commit": "yes"}
    ) as client:
        ids = await _build(client, actors)
        yield World(ids=ids, storage=_session_storage, client=client)
    await empty(_session_storage)


async def _build(client: httpx.AsyncClient, actors: dict[str, Actor]) -> dict[str, str]:
    actors["admin"] = Actor(id="t:admin", role=Role.ADMIN, label="admin")

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(API_PREFIX + path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    people = {}
    for name in ("orga", "orgb", "alice", "bob", "carol"):
        people[name] = (
            await post("/users", {"firstName": name, "lastName": "X", "email": f"{name}@ex.org"})
        )["id"]
    actors["owner"] = Actor(id="t:a", role=Role.ORGANIZER, label="orga", user_id=people["orga"])
    actors["other"] = Actor(id="t:b", role=Role.ORGANIZER, label="orgb", user_id=people["orgb"])
    actors["viewer"] = Actor(id="t:v", role=Role.VIEWER, label="viewer")
    when = {"startAt": "2030-01-01T10:00:00Z", "endAt": "2030-01-01T12:00:00Z"}
    event_a = await post("/events", {"title": "A", **when, "ownerId": people["orga"]})
    event_b = await post("/events", {"title": "B", **when, "ownerId": people["orgb"]})
    await post(f"/events/{event_a['id']}/registrations", {"userId": people["alice"]})
    await post(f"/events/{event_b['id']}/registrations", {"userId": people["bob"]})
    message = {"subject": "Hi", "text": "Hello {{ user.first_name }}"}
    campaign_a = await post(
        "/campaigns", {"name": "ca", **message, "audience": {"eventId": event_a["id"]}}
    )
    await post("/campaigns", {"name": "cb", **message, "audience": {"eventId": event_b["id"]}})
    return {
        **people,
        "user_id": people["alice"],
        "event_id": event_a["id"],
        "slug": event_a["slug"],
        "campaign_id": campaign_a["id"],
        "category_id": (await post("/categories", {"name": "Talks"}))["id"],
        "template_id": (await post("/email-templates", {"name": "t", **message}))["id"],
        "segment_id": (await post("/segments", {"name": "s", "filter": None}))["id"],
        "prefix": (await post("/api-keys", {"name": "k", "role": "viewer"}))["prefix"],
    }


def _body(method: str, path: str, ids: dict[str, str], actor: str) -> dict[str, Any] | None:
    when = {"startAt": "2030-01-01T10:00:00Z", "endAt": "2030-01-01T12:00:00Z"}
    message = {"subject": "Hi", "text": "Hello"}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/users"): {"firstName": "N", "lastName": "N", "email": "n@ex.org"},
        ("POST", "/users/search"): {},
        ("PUT", f"/users/{U}"): {"firstName": "A", "lastName": "X", "email": "alice@ex.org"},
        ("PATCH", f"/users/{U}"): {"city": "Paris"},
        ("POST", "/categories"): {"name": "New"},
        ("PUT", "/categories/{category_id}"): {"name": "Renamed"},
        ("PATCH", "/categories/{category_id}"): {"description": "d"},
        ("POST", "/events"): {"title": "New", **when},
        ("PUT", f"/events/{E}"): {"title": "A2", **when, "ownerId": ids["orga"]},
        ("PATCH", f"/events/{E}"): {"venue": "Hall"},
        ("POST", f"/events/{E}/registrations"): {"userId": ids["carol"]},
        ("POST", "/email-templates"): {"name": "new", **message},
        ("PUT", "/email-templates/{template_id}"): {"name": "t2", **message},
        ("POST", "/email-templates/{template_id}/preview"): {"userId": ids["alice"]},
        ("POST", "/segments"): {"name": "new", "filter": None},
        ("PUT", "/segments/{segment_id}"): {"name": "s2", "filter": None},
        ("POST", "/campaigns"): {"name": "n", **message, "audience": {"eventId": ids["event_id"]}},
        ("POST", "/emails/send"): {**message, "eventId": ids["event_id"]},
        ("POST", "/users/filter"): {"filter": {"role": "attendee"}, "limit": 10},
        ("POST", "/users/send_email"): {"user_ids": [ids["alice"]]},
        ("POST", "/emails/send-emails"): {
            "user_ids": [ids["alice"]],
            "subject": "Hi",
            "body": "Hello",
        },
        ("POST", "/api-keys"): {"name": "new", "role": "viewer"},
    }
    return bodies.get((method, path))


CASES = [
    pytest.param(method, path, i, id=f"{method} {path} as {actor}")
    for (method, path), expected in MATRIX.items()
    if expected != (PUBLIC,)
    for i, actor in enumerate(ACTORS)
]


@pytest.mark.parametrize(("method", "path", "index"), CASES)
async def test_route_for_role(world: World, method: str, path: str, index: int) -> None:
    actor = ACTORS[index]
    expected = MATRIX[(method, path)][index]
    url = API_PREFIX + path.format(**world.ids)
    headers = {"x-test-actor": actor}
    body = _body(method, path, world.ids, actor)
    if expected == OK:
        headers["x-test-commit"] = "no"  # rolled back: the world stays as it is
        response = await world.client.request(method, url, json=body, headers=headers)
        assert response.status_code not in (401, 403, 404), response.text
        return
    before = await snapshot(world.storage)
    response = await world.client.request(method, url, json=body, headers=headers)
    if expected == HIDDEN and (method, path) in BODY_REFUSALS:
        problem = assert_problem(response, 422)
        assert [e["field"] for e in problem["errors"]] in (["eventId"], ["audience.eventId"])
    else:
        assert_problem(response, expected)
    assert await snapshot(world.storage) == before
