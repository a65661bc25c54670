"""Hostile templates through the API: saved without being run, refused at preview with a 422."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from eventcrm.app import create_app
from eventcrm.bootstrap import build_container
from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.factories import create_template, create_user

API = "/api/v1/email-templates"
RECURSION = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"
#: 2**40 macro calls and no output: runs until a limit stops it.
EXPLOSION = (
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
)


async def preview(client: httpx.AsyncClient, template_id: str, user_id: str) -> httpx.Response:
    return await client.post(f"{API}/{template_id}/preview", json={"userId": user_id})


async def test_a_recursive_macro_saves_and_previews_as_a_422(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    template = await create_template(client, html=None, text=RECURSION)
    response = await preview(client, template["id"], user["id"])
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("template_render_failed")
    assert "recursion" in body["detail"]


async def test_huge_repetition_is_saved_unevaluated_and_refused_at_preview(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(client)
    template = await create_template(client, html=None, text="{{ 'a' * 100000000 }}")
    response = await preview(client, template["id"], user["id"])
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("template_limit_exceeded")
    assert "output" in body["detail"]
    assert [e["type"] for e in body["errors"]] == ["template_limit_output"]


async def test_nested_loops_stop_at_the_step_limit(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    template = await create_template(
        client,
        html=None,
        text="{% for i in range(100000) %}{% for j in range(300) %}{% endfor %}{% endfor %}",
    )
    response = await preview(client, template["id"], user["id"])
    assert response.status_code == 422
    assert [e["type"] for e in response.json()["errors"]] == ["template_limit_steps"]


async def test_a_put_does_not_evaluate_the_template(client: httpx.AsyncClient) -> None:
    created = await create_template(client)
    response = await client.put(
        f"{API}/{created['id']}",
        json={"name": "N", "subject": "{{ 'a'|center(100000000) }}", "text": "t"},
    )
    assert response.status_code == 200
    assert response.json()["subject"] == "{{ 'a'|center(100000000) }}"


@pytest.fixture
async def slow_render_client(
    settings: Settings, storage: Storage
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose renders may run for 3 s (so one is still running when probed)."""
    slow = settings.model_copy(
        update={"template_render_timeout_seconds": 3.0, "template_max_steps": 10_000_000}
    )
    await seed_admin_key(storage)
    app = create_app(slow, container=build_container(slow, storage=storage))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http


async def test_the_server_stays_live_while_a_heavy_preview_renders(
    slow_render_client: httpx.AsyncClient,
) -> None:
    client = slow_render_client
    user = await create_user(client)
    template = await create_template(client, html=None, text=EXPLOSION)
    heavy = asyncio.create_task(preview(client, template["id"], user["id"]))
    # Probe until the preview is over, handing the event loop to the preview
    # between probes: a render on the event loop would stall one round for the
    # whole render.
    latencies = []
    while not heavy.done():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        live = await client.get("/health/live")
        latencies.append(time.perf_counter() - started)
        assert live.status_code == 200
    response = await heavy
    assert response.status_code == 422
    assert [e["type"] for e in response.json()["errors"]] == ["template_limit_time"]
    assert len(latencies) > 10
    assert max(latencies) < 1.0
