"""EVENTCRM_API_PREFIX: the API at /api/v1 (the default) or at the root, with
Location headers, unsubscribe links and the OpenAPI document following it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.container import Container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.assertions import assert_problem
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.factories import event_payload, user_payload


@dataclass
class Served:
    prefix: str
    client: httpx.AsyncClient
    container: Container


@pytest.fixture(params=["", "/api/v1"], ids=["root", "api-v1"])
async def served(
    request: pytest.FixtureRequest, settings: Settings, storage: Storage
) -> AsyncIterator[Served]:
    configured = settings.model_copy(update={"api_prefix": request.param})
    container = build_container(configured, storage=storage)
    app = create_app(configured, container=container)
    await seed_admin_key(storage)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield Served(request.param, http, container)


async def test_routes_and_locations_follow_the_prefix(served: Served) -> None:
    api, client = served.prefix, served.client
    created = await client.post(f"{api}/users", json=user_payload())
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{api}/users/{created.json()['id']}"
    assert (await client.get(created.headers["Location"])).json() == created.json()
    event = await client.post(f"{api}/events/", json=event_payload())
    assert event.headers["Location"] == f"{api}/events/{event.json()['id']}"
    count = await client.get(f"{api}/events/count/")
    assert count.json() == {"count": 1}


async def test_the_other_prefix_is_not_served(served: Served) -> None:
    other = "/api/v1" if served.prefix == "" else ""
    assert_problem(await served.client.get(f"{other}/users"), 404)


async def test_credentials_are_still_required(served: Served) -> None:
    response = await served.client.get(f"{served.prefix}/users", headers={"Authorization": ""})
    assert_problem(response, 401)


async def test_unsubscribe_links_follow_the_prefix(served: Served) -> None:
    client = served.client
    user = (await client.post(f"{served.prefix}/users", json=user_payload())).json()
    link = urlsplit(served.container.unsubscribe.url(user["id"]))
    assert link.path.startswith(f"{served.prefix}/unsubscribe/")
    page = await client.get(link.path, headers={"Authorization": ""})
    assert page.status_code == 200, page.text
    assert (await client.post(link.path, headers={"Authorization": ""})).status_code == 200
    read = await client.get(f"{served.prefix}/users/{user['id']}")
    assert read.json()["emailOptOut"] is True


async def test_openapi_paths_follow_the_prefix(served: Served) -> None:
    document = (await served.client.get("/openapi.json")).json()
    paths = document["paths"]
    assert f"{served.prefix}/users" in paths
    assert f"{served.prefix}/users/filter" in paths
    assert {"/health/live", "/health/ready"} <= set(paths)
    assert "401" not in paths["/health/live"]["get"]["responses"]
    assert "401" in paths[f"{served.prefix}/users"]["get"]["responses"]
    assert "401" not in paths[f"{served.prefix}/unsubscribe/{{token}}"]["get"]["responses"]


async def test_health_probes_stay_where_they_are(served: Served) -> None:
    for probe in ("/health/live", "/health/ready"):
        response = await served.client.get(probe, headers={"Authorization": ""})
        assert response.status_code == 200, response.text


def test_a_prefix_must_be_a_path() -> None:
    for bad in ("api", "/api/", "/api v1", "//api"):
        with pytest.raises(ValueError, match="api_prefix"):
            Settings(api_prefix=bad)
    assert Settings(api_prefix="").api_prefix == ""
