"""Backoff timing, the send-rate limit, and configuration checked at start-up."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from eventcrm.bootstrap import build_container, build_worker
from eventcrm.settings import Settings
from eventcrm.storage.ports import EventChangeListener, Storage, UnitOfWork
from eventcrm.worker.retry import MAX_DELAY_SECONDS, backoff_seconds
from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_user
from tests.support.smtp_sink import SmtpSink


@given(
    attempt=st.integers(1, 40),
    base=st.floats(0, 600, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_backoff_doubles_with_jitter_in_the_upper_half_and_is_capped(
    attempt: int, base: float, seed: int
) -> None:
    nominal = min(MAX_DELAY_SECONDS, base * 2.0 ** (attempt - 1))
    delay = backoff_seconds(attempt, base=base, rng=random.Random(seed))
    assert nominal / 2 <= delay <= nominal


async def test_the_send_rate_is_respected(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(30)]
    await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    worker = make_worker(worker_send_rate=20.0, worker_batch_size=100)
    started = time.monotonic()
    await drain(worker)
    elapsed = time.monotonic() - started
    # A burst of at most 20 (one second's worth), then 20 per second: 30 take >= 0.5 s.
    assert elapsed >= 0.45
    assert smtp_sink.handler.count == 30


async def test_a_stopped_worker_finishes_its_batch(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(10)]
    accepted = await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    worker = make_worker(worker_send_rate=20.0, worker_batch_size=10)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(1000):  # until the first message is in flight
        if smtp_sink.handler.count:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    campaign = (await client.get(f"/api/v1/campaigns/{accepted['campaignId']}")).json()
    assert campaign["counts"]["sent"] == smtp_sink.handler.count == 10
    assert campaign["counts"]["sending"] == 0


def test_sendgrid_needs_an_api_key() -> None:
    with pytest.raises(ValidationError, match="EVENTCRM_SENDGRID_API_KEY"):
        Settings(email_provider="sendgrid", sendgrid_api_key=None)


def test_a_bad_sender_address_stops_start_up(settings: Settings) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        build_container(settings.model_copy(update={"email_from": "nobody"}))


@pytest.mark.parametrize(("security", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_the_smtp_port_follows_the_security(security: str, port: int) -> None:
    assert Settings(smtp_security=security).resolved_smtp_port == port


class _FlakyStorage:
    """The real storage, except that its first few transactions fail (a restarting database)."""

    def __init__(self, inner: Storage, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    def unit_of_work(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("the database is restarting")
        return self._inner.unit_of_work(write=write)

    def watch_events(self, listener: EventChangeListener) -> Callable[[], None]:
        return self._inner.watch_events(listener)

    async def ping(self) -> None:
        await self._inner.ping()

    async def refresh_statistics(self) -> None:
        await self._inner.refresh_statistics()

    async def close(self) -> None:
        await self._inner.close()


async def test_the_worker_outlives_database_errors(
    client: httpx.AsyncClient,
    smtp_sink: SmtpSink,
    smtp_settings: Settings,
    storage: Storage,
) -> None:
    users = [await create_user(client) for _ in range(5)]
    await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    flaky = _FlakyStorage(storage, failures=3)
    worker = build_worker(build_container(smtp_settings, storage=flaky))
    await drain(worker)
    assert flaky.failures == 0
    assert dict(smtp_sink.handler.recipients) == {u["email"]: 1 for u in users}
