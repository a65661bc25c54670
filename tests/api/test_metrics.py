"""/metrics: Prometheus text that counts what happened, readable from this
machine or with an administrator key, and summed over ``serve --workers N``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from tests.events.test_cache_processes import _env, samples, start, stop
from tests.support.auth import ADMIN_HEADERS
from tests.support.factories import create_event, create_user

API = "/api/v1"


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name).get(tuple(sorted(labels.items())), 0.0)


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    events = [await create_event(client) for _ in range(3)]
    route = f"{API}/events/{{event_id}}"
    before = await scrape(client)
    for event in events:
        assert (await client.get(f"{API}/events/{event['id']}")).status_code == 200
    assert (await client.get(f"{API}/events/no-such-event")).status_code == 404
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"method": "GET", "route": route, "status": "200"}
    assert delta("eventcrm_http_requests_total", **ok) == 3
    assert delta("eventcrm_http_requests_total", **{**ok, "status": "404"}) == 1
    assert delta("eventcrm_http_request_duration_seconds_count", method="GET", route=route) == 4
    # Three events read once each: misses; nothing read twice yet.
    assert delta("eventcrm_cache_lookups_total", cache="event", result="miss") == 4
    assert delta("eventcrm_cache_lookups_total", cache="event", result="hit") == 0

    await client.get(f"{API}/events/{events[0]['id']}")
    again = await scrape(client)
    assert value(again, "eventcrm_cache_lookups_total", cache="event", result="hit") == (
        value(after, "eventcrm_cache_lookups_total", cache="event", result="hit") + 1
    )


async def test_metrics_count_registrations_by_outcome(client: httpx.AsyncClient) -> None:
    event = await create_event(client, capacity=1, waitlistEnabled=False, status="scheduled")
    alice, bob = await create_user(client), await create_user(client)
    before = await scrape(client)
    url = f"{API}/events/{event['id']}/registrations"
    assert (await client.post(url, json={"userId": alice["id"]})).status_code == 201
    assert (await client.post(url, json={"userId": bob["id"]})).status_code == 409
    after = await scrape(client)

    def delta(outcome: str) -> float:
        return value(after, "eventcrm_registrations_total", outcome=outcome) - value(
            before, "eventcrm_registrations_total", outcome=outcome
        )

    assert delta("registered") == 1
    assert delta("event_full") == 1


async def test_metrics_show_due_deliveries_and_the_pool(client: httpx.AsyncClient) -> None:
    person = await create_user(client)
    sent = await client.post(
        f"{API}/emails/send", json={"subject": "Hi", "text": "Hello", "userIds": [person["id"]]}
    )
    assert sent.status_code in (200, 201, 202), sent.text
    text = await scrape(client)
    assert value(text, "eventcrm_due_deliveries") == 1
    assert value(text, "eventcrm_db_pool_size") > 0


def _app(settings: Settings, storage: SqlStorage, **overrides: object) -> FastAPI:
    changed = settings.model_copy(update=overrides)
    return create_app(changed, container=build_container(changed, storage=storage))


def _from(app: FastAPI, host: str, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


async def test_metrics_from_elsewhere_need_an_administrator_key(
    settings: Settings, storage: SqlStorage, client: httpx.AsyncClient
) -> None:
    app = _app(settings, storage)
    viewer = await client.post(f"{API}/api-keys", json={"name": "v", "role": "viewer"})
    viewer_headers = {"Authorization": f"Bearer {viewer.json()['key']}"}
    async with _from(app, "203.0.113.7") as remote:
        assert (await remote.get("/metrics")).status_code == 401
        assert (await remote.get("/metrics", headers=viewer_headers)).status_code == 403
        assert (await remote.get("/metrics", headers=ADMIN_HEADERS)).status_code == 200
    async with _from(app, "::1") as local:
        assert (await local.get("/metrics")).status_code == 200
        # Forwarded by a proxy on this machine: it is someone else's request.
        forwarded = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert forwarded.status_code == 401


async def test_metrics_can_be_turned_off(settings: Settings, storage: SqlStorage) -> None:
    async with _from(_app(settings, storage, metrics_enabled=False), "127.0.0.1") as local:
        response = await local.get("/metrics", headers=ADMIN_HEADERS)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_metrics_add_up_over_server_processes(
    settings: Settings, storage: SqlStorage, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    base, process = start(_env(settings), tmp_path, "--workers", "2")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=15, headers=ADMIN_HEADERS) as http:
            # New connections, so both processes answer some of them.
            for _ in range(20):
                async with httpx.AsyncClient(base_url=base, headers=ADMIN_HEADERS) as one:
                    assert (await one.get(f"{API}/events")).status_code == 200
            text = (await http.get("/metrics")).text
    finally:
        stop([process])
    requests = value(
        text, "eventcrm_http_requests_total", method="GET", route=f"{API}/events", status="200"
    )
    assert requests == 20
    # Each process's pool, summed: the numbers come from both processes.
    assert value(text, "eventcrm_db_pool_size") == 2 * Settings().database_pool_size
    # Without Redis, processes could not invalidate each other's cache: it is off.
    assert samples(text, "eventcrm_cache_lookups_total") == {}
