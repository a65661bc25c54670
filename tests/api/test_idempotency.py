"""Idempotency-Key at the HTTP boundary: replay, mismatch, in flight, scope, expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container, build_worker
from eventcrm.container import Container
from eventcrm.settings import Settings
from eventcrm.storage.ports import (
    EventChangeListener,
    IdempotencyRepository,
    Storage,
    UnitOfWork,
    UserRepository,
)
from eventcrm.users.domain import User
from tests.support.assertions import assert_problem, assert_refused
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.databases import count_stored
from tests.support.factories import create_campaign, create_event, event_payload, user_payload

USERS = "/api/v1/users"
REPLAYED = "idempotent-replayed"


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


count = count_stored


# --- replay ------------------------------------------------------------------------------


async def test_a_retry_replays_status_body_location_and_content_type(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    payload = user_payload()
    first = await client.post(USERS, json=payload, headers=key("create-ann"))
    retry = await client.post(USERS, json=payload, headers=key("create-ann"))
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.content == first.content
    for header in ("location", "content-type"):
        assert retry.headers[header] == first.headers[header]
    assert retry.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers
    assert await count(storage, "users") == 1


async def test_a_retry_of_an_event_creation_creates_one_event(
    client: httpx.AsyncClient,
) -> None:
    payload = event_payload()
    first = await client.post("/api/v1/events", json=payload, headers=key("event-1"))
    retry = await client.post("/api/v1/events", json=payload, headers=key("event-1"))
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    listed = (await client.get("/api/v1/events")).json()["items"]
    assert [e["id"] for e in listed] == [first.json()["id"]]


async def test_a_json_body_is_compared_by_value_not_by_spelling(
    client: httpx.AsyncClient,
) -> None:
    payload = user_payload()
    first = await client.post(USERS, json=payload, headers=key("spelling"))
    respelled = "{" + ", ".join(f'"{k}":  "{v}"' for k, v in reversed(payload.items())) + "}"
    retry = await client.post(
        USERS,
        content=respelled,
        headers={**key("spelling"), "content-type": "application/json"},
    )
    assert retry.status_code == 201
    assert retry.headers[REPLAYED] == "true"
    assert retry.json() == first.json()


async def test_a_replayed_campaign_send_queues_no_second_email(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    user = (await client.post(USERS, json=user_payload())).json()
    campaign = await create_campaign(client, audience={"userIds": [user["id"]]})
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    first = await client.post(url, headers=key("send-1"))
    retry = await client.post(url, headers=key("send-1"))
    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"
    assert await count(storage, "deliveries") == 1


async def test_a_replayed_emails_send_creates_one_campaign_and_one_email(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    user = (await client.post(USERS, json=user_payload())).json()
    body = {"subject": "Hi", "text": "Hello", "userIds": [user["id"]]}
    first = await client.post("/api/v1/emails/send", json=body, headers=key("mail-1"))
    retry = await client.post("/api/v1/emails/send", json=body, headers=key("mail-1"))
    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json()["campaignId"] == first.json()["campaignId"]
    assert retry.headers[REPLAYED] == "true"
    assert len((await client.get("/api/v1/campaigns")).json()["items"]) == 1
    assert await count(storage, "deliveries") == 1


async def test_a_replayed_check_in_returns_the_first_answer(client: httpx.AsyncClient) -> None:
    event = await create_event(client)
    user = (await client.post(USERS, json=user_payload())).json()
    registrations = f"/api/v1/events/{event['id']}/registrations"
    await client.post(registrations, json={"userId": user["id"]})
    url = f"{registrations}/{user['id']}/check-in"
    first = await client.post(url, headers=key("door"))
    retry = await client.post(url, headers=key("door"))
    assert first.status_code == 200, first.text
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED] == "true"


# --- mismatch, failures, scope -----------------------------------------------------------


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    await client.post(USERS, json=user_payload(), headers=key("reused"))
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        status=422,
        code="idempotency_key_reused",
        field="Idempotency-Key",
        json=user_payload(),
        headers=key("reused"),
    )


async def test_a_failed_request_stores_nothing_and_its_retry_runs_again(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    refused = await client.post(USERS, json=user_payload(email="nope"), headers=key("fix-me"))
    assert_problem(refused, 422)
    assert await count(storage, "idempotency_keys") == 0
    fixed = await client.post(USERS, json=user_payload(), headers=key("fix-me"))
    assert fixed.status_code == 201
    assert REPLAYED not in fixed.headers
    assert await count(storage, "idempotency_keys") == 1


async def test_a_key_is_scoped_to_its_route(client: httpx.AsyncClient, storage: Storage) -> None:
    user = await client.post(USERS, json=user_payload(), headers=key("shared"))
    event = await client.post("/api/v1/events", json=event_payload(), headers=key("shared"))
    assert (user.status_code, event.status_code) == (201, 201)
    assert REPLAYED not in event.headers
    assert await count(storage, "idempotency_keys") == 2


async def test_a_post_that_writes_nothing_ignores_the_key(
    client: httpx.AsyncClient, storage: Storage
) -> None:
    search = {"filter": {"field": "city", "op": "eq", "value": "Austin"}}
    response = await client.post(f"{USERS}/search", json=search, headers=key("look"))
    assert response.status_code == 200, response.text
    assert REPLAYED not in response.headers
    assert await count(storage, "idempotency_keys") == 0


async def test_the_openapi_document_offers_the_header_on_unsafe_posts_only(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    def takes_key(path: str) -> bool:
        parameters = paths[path]["post"].get("parameters", [])
        return any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in parameters)

    for path in (
        "/api/v1/users",
        "/api/v1/events",
        "/api/v1/categories",
        "/api/v1/events/{event_id}/registrations",
        "/api/v1/events/{event_id}/registrations/{user_id}/check-in",
        "/api/v1/email-templates",
        "/api/v1/segments",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{campaign_id}/send",
        "/api/v1/emails/send",
    ):
        assert takes_key(path), path
    for path in (
        "/api/v1/users/search",
        "/api/v1/email-templates/{template_id}/preview",
        "/api/v1/unsubscribe/{token}",
    ):
        assert not takes_key(path), path


# --- in flight ---------------------------------------------------------------------------


class Gate:
    """Holds the first user insert until released: a request kept in flight."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()

    async def pass_through(self) -> None:
        if not self.reached.is_set():
            self.reached.set()
            await self.opened.wait()


class _GatedUsers:
    def __init__(self, users: UserRepository, gate: Gate) -> None:
        self._users = users
        self._gate = gate

    async def add(self, user: User) -> None:
        await self._gate.pass_through()
        await self._users.add(user)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._users, name)


class GatedStorage:
    """The real storage, whose first user insert waits at a gate (a test double)."""

    def __init__(self, storage: Storage, gate: Gate) -> None:
        self._storage = storage
        self._gate = gate

    @asynccontextmanager
    async def unit_of_work(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        async with self._storage.unit_of_work(write=write) as uow:
            uow.users = cast(UserRepository, _GatedUsers(uow.users, self._gate))
            yield uow

    def watch_events(self, listener: EventChangeListener) -> Callable[[], None]:
        return self._storage.watch_events(listener)

    async def ping(self) -> None:
        await self._storage.ping()

    async def refresh_statistics(self) -> None:
        """Nothing to refresh for a test."""

    async def close(self) -> None:
        """The session's storage is closed by its fixture."""


async def gated_app(settings: Settings, storage: Storage, gate: Gate) -> FastAPI:
    """An app over the test database; each one stands for a server process."""
    await seed_admin_key(storage)
    container = build_container(settings, storage=GatedStorage(storage, gate))
    return create_app(settings, container=container)


def http(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=ADMIN_HEADERS
    )


async def test_the_same_key_in_flight_in_this_process_is_409(
    settings: Settings, storage: Storage
) -> None:
    gate, payload = Gate(), user_payload()
    async with http(await gated_app(settings, storage, gate)) as client:
        first = asyncio.create_task(client.post(USERS, json=payload, headers=key("busy")))
        await gate.reached.wait()
        second = await client.post(USERS, json=payload, headers=key("busy"))
        assert_problem(second, 409, code="idempotency_key_in_flight")
        gate.opened.set()
        assert (await first).status_code == 201
        retry = await client.post(USERS, json=payload, headers=key("busy"))
    assert retry.headers[REPLAYED] == "true"
    assert await count(storage, "users") == 1


async def test_the_same_key_in_flight_in_another_process_is_409_or_waits_on_sqlite(
    settings: Settings, storage: Storage, backend: str
) -> None:
    """PostgreSQL: the key's advisory lock refuses the second request at once; DynamoDB:
    so does the key's lease item. SQLite: the second waits for the write lock, then
    replays the first."""
    gate, payload = Gate(), user_payload()
    async with (
        http(await gated_app(settings, storage, gate)) as one,
        http(await gated_app(settings, storage, gate)) as other,
    ):
        first = asyncio.create_task(one.post(USERS, json=payload, headers=key("two-procs")))
        await gate.reached.wait()
        second = asyncio.create_task(other.post(USERS, json=payload, headers=key("two-procs")))
        if backend in ("postgres", "dynamodb"):
            assert_problem(await second, 409, code="idempotency_key_in_flight")
        gate.opened.set()
        created = await first
        assert created.status_code == 201
        if backend == "sqlite":
            replayed = await second
            assert replayed.headers[REPLAYED] == "true"
            assert replayed.content == created.content
    assert await count(storage, "users") == 1


class _FailingKeys:
    """An idempotency store whose write fails, after the change has been made."""

    def __init__(self, keys: IdempotencyRepository) -> None:
        self._keys = keys

    async def put(self, **_: Any) -> None:
        raise RuntimeError("the response could not be stored")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._keys, name)


class FailingKeyStorage(GatedStorage):
    @asynccontextmanager
    async def unit_of_work(self, *, write: bool) -> AsyncIterator[UnitOfWork]:
        async with self._storage.unit_of_work(write=write) as uow:
            uow.idempotency = cast(IdempotencyRepository, _FailingKeys(uow.idempotency))
            yield uow


async def test_the_response_is_stored_in_the_transaction_of_the_change(
    settings: Settings, storage: Storage
) -> None:
    await seed_admin_key(storage)
    container = build_container(settings, storage=FailingKeyStorage(storage, Gate()))
    app = create_app(settings, container=container)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as client:
        response = await client.post(USERS, json=user_payload(), headers=key("atomic"))
    assert_problem(response, 500, code="internal_error")
    assert await count(storage, "users") == 0


# --- expiry --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2030, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


async def clocked(settings: Settings, storage: Storage) -> tuple[Container, Clock]:
    await seed_admin_key(storage)
    clock = Clock()
    return build_container(settings, storage=storage, clock=clock), clock


async def test_the_worker_purges_expired_keys_and_the_key_can_be_used_again(
    settings: Settings, storage: Storage
) -> None:
    container, clock = await clocked(settings, storage)
    worker = build_worker(container)
    async with http(create_app(settings, container=container)) as client:
        first = await client.post(USERS, json=user_payload(), headers=key("daily"))
        clock.moment += timedelta(seconds=settings.idempotency_ttl_seconds - 1)
        await worker.run(asyncio.Event(), until_idle=True)
        assert await count(storage, "idempotency_keys") == 1  # not yet expired

        clock.moment += timedelta(seconds=1)
        await build_worker(container).run(asyncio.Event(), until_idle=True)
        assert await count(storage, "idempotency_keys") == 0

        again = await client.post(USERS, json=user_payload(), headers=key("daily"))
    assert again.status_code == 201
    assert REPLAYED not in again.headers
    assert again.json()["id"] != first.json()["id"]


async def test_an_expired_key_is_not_replayed_even_before_the_purge(
    settings: Settings, storage: Storage
) -> None:
    container, clock = await clocked(settings, storage)
    async with http(create_app(settings, container=container)) as client:
        payload = user_payload()
        await client.post(USERS, json=payload, headers=key("stale"))
        clock.moment += timedelta(seconds=settings.idempotency_ttl_seconds)
        retry = await client.post(
            USERS, json={**payload, "email": "new@example.com"}, headers=key("stale")
        )
    assert retry.status_code == 201
    assert REPLAYED not in retry.headers
    assert await count(storage, "idempotency_keys") == 1


async def test_the_purge_is_bounded_per_transaction(settings: Settings, storage: Storage) -> None:
    container, clock = await clocked(settings, storage)
    async with http(create_app(settings, container=container)) as client:
        for n in range(5):
            await client.post(USERS, json=user_payload(), headers=key(f"k{n}"))
    clock.moment += timedelta(days=2)
    worker = build_worker(container)
    worker.config = replace(worker.config, purge_batch_size=2)
    assert await worker.purge_expired_keys() == 2
    assert await count(storage, "idempotency_keys") == 3
    await worker.run(asyncio.Event(), until_idle=True)
    assert await count(storage, "idempotency_keys") == 0


@pytest.mark.parametrize("value", ["has space", "x" * 256, ""])
async def test_a_malformed_key_is_422_and_changes_nothing(
    client: httpx.AsyncClient, storage: Storage, value: str
) -> None:
    await assert_refused(
        client,
        storage,
        "POST",
        USERS,
        status=422,
        field="Idempotency-Key",
        json=user_payload(),
        headers={"Idempotency-Key": value},
    )
