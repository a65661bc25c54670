"""Real ``eventcrm worker`` processes: killed mid-campaign, and two sharing one campaign.

Every backend runs them. DynamoDB (moto's server, one request at a time per call) gets
smaller campaigns: the claims, leases and conditional outcome writes under test are the
same per batch, and a few batches show them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from eventcrm.settings import Settings
from eventcrm.storage.ports import Storage
from tests.conftest import GENEROUS_LIMITS_ENV
from tests.support.databases import add_users, deliveries_of
from tests.support.factories import make_user
from tests.support.smtp_sink import SmtpSink

BATCH_SIZE = 100

#: Recipients of the killed worker's campaign, and how many the sink has accepted when
#: it is killed (half-way through a batch); recipients of the shared campaign.
CRASH_SIZE = {"sqlite": (5000, 1550), "postgres": (5000, 1550), "dynamodb": (600, 250)}
PAIR_SIZE = {"sqlite": 3000, "postgres": 3000, "dynamodb": 600}
#: A claim's lease: longer than a batch takes (on DynamoDB's test server, one request at
#: a time, a batch of 100 takes seconds), or a live worker's batch would be reclaimed
#: and sent twice; short, so the killed worker's batch is reclaimed soon.
LEASE_SECONDS = {"sqlite": 2, "postgres": 2, "dynamodb": 20}


def _backend(settings: Settings) -> str:
    if settings.is_dynamodb:
        return "dynamodb"
    return "sqlite" if settings.is_sqlite else "postgres"


@pytest.fixture
def counting_sink() -> Iterator[SmtpSink]:
    """A sink that counts recipients without parsing (thousands of messages)."""
    sink = SmtpSink(parse=False)
    sink.start()
    yield sink
    sink.stop()


async def _audience(storage: Storage, n: int, company: str) -> list[str]:
    now = datetime.now(UTC)
    people = [
        make_user(
            id=f"{company}-{i:05d}",
            first_name=f"P{i}",
            last_name=company,
            email=f"{company.lower()}{i}@example.com",
            company=company,
            created_at=now,
            updated_at=now,
        )
        for i in range(n)
    ]
    await add_users(storage, people)
    return [p.email for p in people if p.email]


async def _campaign(client: httpx.AsyncClient, company: str) -> str:
    response = await client.post(
        "/api/v1/emails/send",
        params={"confirm": "true"},  # thousands of recipients: a send to confirm
        json={
            "subject": "Hi {{ user.firstName }}",
            "text": "Hello {{ user.firstName }} {{ user.lastName }}",
            "filter": {"field": "company", "op": "eq", "value": company},
        },
    )
    assert response.status_code == 202, response.text
    return str(response.json()["campaignId"])


class Worker:
    """An ``eventcrm worker`` process; its log goes to a file (a pipe could fill and block it)."""

    def __init__(self, settings: Settings, sink: SmtpSink, cwd: Path, *args: str) -> None:
        self.log = cwd / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "eventcrm", "worker", *args],
                cwd=cwd,
                env=_env(settings, sink, cwd),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def finish(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the worker did not finish in time:\n{self.output()[-2000:]}")
            await asyncio.sleep(0.1)
        assert self.proc.returncode == 0, self.output()[-3000:]
        return self.output()


def _env(settings: Settings, sink: SmtpSink, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
    env.update(
        {
            "EVENTCRM_DATABASE_URL": settings.database_url,
            "EVENTCRM_SECRET_KEY": settings.secret_key or "",
            "EVENTCRM_DATA_DIR": str(cwd),
            "EVENTCRM_EMAIL_PROVIDER": "smtp",
            "EVENTCRM_EMAIL_FROM": "news@events.example",
            "EVENTCRM_SMTP_HOST": "127.0.0.1",
            "EVENTCRM_SMTP_PORT": str(sink.port),
            "EVENTCRM_SMTP_SECURITY": "none",
            "EVENTCRM_WORKER_BATCH_SIZE": str(BATCH_SIZE),
            "EVENTCRM_WORKER_CONCURRENCY": "2",
            "EVENTCRM_WORKER_POLL_INTERVAL": "0.1",
            "EVENTCRM_WORKER_LEASE_SECONDS": str(LEASE_SECONDS[_backend(settings)]),
            "EVENTCRM_WORKER_RETRY_BASE_SECONDS": "0.1",
            "EVENTCRM_LOG_LEVEL": "INFO",
        }
    )
    env.update(GENEROUS_LIMITS_ENV)
    if settings.database_schema:
        env["EVENTCRM_DATABASE_SCHEMA"] = settings.database_schema
    return env


def _sent_by(stderr: str) -> int:
    for line in stderr.splitlines():
        if line.startswith("{") and '"worker_stopped"' in line:
            return int(json.loads(line)["sent"])
    raise AssertionError(f"no worker_stopped line in:\n{stderr[-2000:]}")


async def _statuses(storage: Storage, campaign_id: str) -> dict[str, str]:
    return {d.email: d.status.value for d in await deliveries_of(storage, campaign_id)}


async def test_a_worker_killed_mid_campaign_loses_nothing_and_repeats_at_most_a_batch(
    client: httpx.AsyncClient,
    storage: Storage,
    settings: Settings,
    backend: str,
    counting_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    size, kill_after = CRASH_SIZE[backend]
    emails = await _audience(storage, size, "Crash")
    campaign_id = await _campaign(client, "Crash")

    first = Worker(settings, counting_sink, tmp_path)
    deadline = time.monotonic() + 90
    while counting_sink.handler.count < kill_after:  # half-way through a batch
        assert first.proc.poll() is None, first.output()
        assert time.monotonic() < deadline, "the worker made no progress"
        await asyncio.sleep(0.02)
    first.kill()

    # Nothing is marked sent that the server did not accept.
    received = dict(counting_sink.handler.recipients)
    at_kill = await _statuses(storage, campaign_id)
    marked_sent = {e for e, s in at_kill.items() if s == "sent"}
    assert marked_sent <= set(received)
    in_flight = sum(1 for s in at_kill.values() if s == "sending")

    await Worker(settings, counting_sink, tmp_path, "--until-idle").finish(120)

    final = await _statuses(storage, campaign_id)
    assert set(final.values()) == {"sent"}, "every delivery ends in a final state"
    counts = counting_sink.handler.recipients
    assert set(counts) == set(emails), "nobody was lost"
    duplicates = sum(counts.values()) - len(emails)
    print(
        f"\nSIGKILL after {len(received)} accepted messages: {in_flight} deliveries were in "
        f"flight, {duplicates} sent twice (bound: one batch of {BATCH_SIZE})"
    )
    assert 0 <= duplicates <= BATCH_SIZE
    assert max(counts.values()) <= 2


async def test_two_workers_share_a_campaign_without_sending_anything_twice(
    client: httpx.AsyncClient,
    storage: Storage,
    settings: Settings,
    backend: str,
    counting_sink: SmtpSink,
    tmp_path: Path,
) -> None:
    emails = await _audience(storage, PAIR_SIZE[backend], "Pair")
    campaign_id = await _campaign(client, "Pair")

    workers = [Worker(settings, counting_sink, tmp_path, "--until-idle") for _ in range(2)]
    outputs = [await w.finish(120) for w in workers]

    counts = counting_sink.handler.recipients
    assert dict(counts) == dict.fromkeys(emails, 1), "each recipient exactly once"
    assert set((await _statuses(storage, campaign_id)).values()) == {"sent"}
    sent = [_sent_by(o) for o in outputs]
    assert sum(sent) == len(emails)
    if not settings.is_sqlite:
        # On PostgreSQL both really work at once (SKIP LOCKED hands them different rows).
        assert min(sent) > 0, sent
