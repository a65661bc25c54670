"""Two server processes sharing Redis (EVENTCRM_REDIS_URL) share the event
cache: a write through one is seen at once by a read through the other,
though that read would otherwise be answered from the cache.

Needs Redis (tests/support/redis.py: skipped when unreachable, failed under
CI=true). Each run uses its own key prefix.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from eventcrm.settings import Settings
from eventcrm.storage.sql.storage import SqlStorage
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.factories import event_payload, user_payload
from tests.support.redis import require_redis
from tests.support.serve import free_port

API = "/api/v1"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "EVENTCRM_DATABASE_URL": settings.database_url,
        "EVENTCRM_SECRET_KEY": settings.secret_key or "",
        "EVENTCRM_DATA_DIR": str(settings.data_dir),
        "EVENTCRM_LOG_LEVEL": "WARNING",
        "EVENTCRM_RATE_LIMIT": "100000/minute",
        **extra,
    }
    if settings.database_schema:
        env["EVENTCRM_DATABASE_SCHEMA"] = settings.database_schema
    return env


def start(env: dict[str, str], workdir: Path, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    command = [sys.executable, "-m", "eventcrm", "serve", "--port", str(port), "--no-migrate"]
    with (workdir / f"server-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--no-worker", *args], cwd=workdir, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = [p.read_text()[-2000:] for p in workdir.glob("server-*.log")]
            raise RuntimeError(f"server {base} exited: {logs}")
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return base, process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server {base} did not start")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)


@pytest.fixture
def two_servers(settings: Settings, storage: SqlStorage, tmp_path: Path) -> Iterator[list[str]]:
    url, prefix = require_redis(), f"eventcrm-test-{uuid.uuid4().hex}"
    env = _env(settings, EVENTCRM_REDIS_URL=url, EVENTCRM_RATE_LIMIT_KEY_PREFIX=prefix)
    started = [start(env, tmp_path) for _ in range(2)]
    try:
        yield [base for base, _ in started]
    finally:
        stop([process for _, process in started])
        # The version numbers have no expiry: leave nothing behind.
        client = redis.Redis.from_url(url)
        try:
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
        finally:
            client.close()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_a_write_through_one_process_is_read_at_once_through_the_other(
    two_servers: list[str], storage: SqlStorage
) -> None:
    await seed_admin_key(storage)
    a, b = two_servers
    async with httpx.AsyncClient(timeout=15, headers=ADMIN_HEADERS) as http:
        created = await http.post(f"{a}{API}/events", json=event_payload(capacity=10))
        event = created.json()
        url = f"{API}/events/{event['id']}"
        for base in (a, b, a, b):
            assert (await http.get(base + url)).json()["title"] == event["title"]

        assert (await http.patch(a + url, json={"title": "Changed in A"})).status_code == 200
        assert (await http.get(b + url)).json()["title"] == "Changed in A"

        person = (await http.post(f"{b}{API}/users", json=user_payload())).json()
        registered = await http.post(f"{b}{url}/registrations", json={"userId": person["id"]})
        assert registered.status_code == 201
        assert (await http.get(a + url)).json()["registeredCount"] == 1
        listed = (await http.get(f"{a}{API}/events")).json()["items"]
        assert [e["registeredCount"] for e in listed] == [1]

        assert (await http.delete(b + url)).status_code == 204
        assert (await http.get(a + url)).status_code == 404
        assert (await http.get(f"{a}{API}/events")).json()["items"] == []

        # The second process found in Redis what the first had stored.
        hits = samples((await http.get(f"{b}/metrics")).text, "eventcrm_cache_lookups_total")
        assert hits[(("cache", "event"), ("result", "hit"))] >= 1
