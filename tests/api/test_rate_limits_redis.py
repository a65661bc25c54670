"""With EVENTCRM_REDIS_URL, server processes share one budget per caller.

Needs Redis (EVENTCRM_TEST_REDIS_URL, default redis://127.0.0.1:6379/0): skipped
when it is unreachable, but failed under CI=true. Each run counts under its own
key prefix, so parallel runs never share budgets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.support.auth import ADMIN_HEADERS, seed_admin_key
from tests.support.redis import require_redis

LIMIT = 6


@pytest.fixture(scope="session")
def redis() -> str:
    return require_redis()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def servers(
    settings: Settings, storage: Storage, redis: str, tmp_path: Path
) -> Iterator[list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
    env |= {
        "EVENTCRM_DATABASE_URL": settings.database_url,
        "EVENTCRM_SECRET_KEY": settings.secret_key or "",
        "EVENTCRM_DATA_DIR": str(settings.data_dir),
        "EVENTCRM_LOG_LEVEL": "WARNING",
        "EVENTCRM_REDIS_URL": redis,
        "EVENTCRM_RATE_LIMIT_KEY_PREFIX": f"eventcrm-test-{uuid.uuid4().hex}",
        "EVENTCRM_RATE_LIMIT": f"{LIMIT}/hour",
    }
    if settings.database_schema:
        env["EVENTCRM_DATABASE_SCHEMA"] = settings.database_schema
    ports = [_free_port(), _free_port()]
    processes = []
    for port in ports:
        command = [
            sys.executable, "-m", "eventcrm", "serve", "--port", str(port),
            "--no-migrate", "--no-worker",
        ]  # fmt: skip
        with (tmp_path / f"server-{port}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log)
            )
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, process in zip(bases, processes, strict=True):
            _wait_ready(base, process, tmp_path)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _wait_ready(base: str, process: subprocess.Popen[bytes], logs: Path) -> None:
    # Readiness is not counted: /health/ready checks the database, and its
    # budget is this address's, shared by both processes like every other.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = [p.read_text()[-2000:] for p in logs.glob("server-*.log")]
            raise RuntimeError(f"server {base} exited: {text}")
        url = urlsplit(base)
        try:
            with socket.create_connection((url.hostname, url.port)):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server {base} did not start")


async def test_two_server_processes_share_one_budget(servers: list[str], storage: Storage) -> None:
    await seed_admin_key(storage)
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(timeout=10, headers=ADMIN_HEADERS) as client:
        for i in range(LIMIT * 2):
            response = await client.get(f"{servers[i % 2]}/api/v1/users")
            statuses[response.status_code] += 1
            if response.status_code == 429:
                assert response.headers["RateLimit-Remaining"] == "0"
                assert int(response.headers["Retry-After"]) > 0
        # Each process alone would have allowed LIMIT: together they allow LIMIT.
        assert statuses == Counter({200: LIMIT, 429: LIMIT})
        for base in servers:
            refused = await client.get(f"{base}/api/v1/users")
            assert refused.status_code == 429
            assert refused.headers["content-type"].startswith("application/problem+json")
