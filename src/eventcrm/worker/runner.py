"""The delivery worker: claim due deliveries, render, send, record; repeat.

Guarantees (see docs/email.md):

* A delivery is marked ``sent`` only after the provider accepted it, in a
  transaction of its own after the send.
* A batch is claimed with a lease (``next_attempt_at`` = lease end). If the
  worker dies, the batch becomes claimable again when the lease runs out, so
  nothing is lost; what the dead worker had already handed to the provider is
  sent again, so a crash duplicates at most one in-flight batch.
* Outcomes are recorded only while the claim holds (its token matches), so a
  worker that overran its lease cannot overwrite the new holder's result.
* Memory is bounded by the batch size, not the audience: nothing but the
  current batch (and a small cache of compiled campaign templates) is held.
* One message never takes its batch down: whatever goes wrong while
  rendering or building one message fails that delivery alone (permanently
  for a template error, with a retry for anything else), and a claim that
  keeps expiring gives up once it has used ``max_attempts``.

Between batches it also purges expired idempotency keys (every
``purge_interval`` seconds, ``purge_batch_size`` rows per transaction, so a
backlog never holds SQLite's write lock for long).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from aiolimiter import AsyncLimiter

from eventcrm.campaigns.domain import (
    Campaign,
    CampaignKind,
    ClaimedDelivery,
    DeliveryOutcome,
    DeliveryStatus,
)
from eventcrm.kit import metrics
from eventcrm.kit.clock import Clock
from eventcrm.mail.message import Mailbox, OutgoingMessage, message_id_for
from eventcrm.mail.ports import MailConnection, MailSender, SendResult, Verdict
from eventcrm.storage.ports import Storage, UnitOfWork
from eventcrm.templates.errors import InvalidTemplate
from eventcrm.templates.rendering import MessageTemplate, RenderError, RenderLimits
from eventcrm.templates.variables import message_variables
from eventcrm.unsubscribe.tokens import UnsubscribeLinks
from eventcrm.worker.retry import backoff_seconds

log = structlog.get_logger(__name__)

_TEMPLATE_CACHE_SIZE = 128


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    batch_size: int = 100
    concurrency: int = 4
    poll_interval: float = 1.0
    max_attempts: int = 5
    send_rate: float | None = None
    lease_seconds: float = 300.0
    retry_base_seconds: float = 30.0
    purge_interval: float = 60.0
    purge_batch_size: int = 1000


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A claimed delivery that is either ready to send or already decided."""

    delivery: ClaimedDelivery
    message: OutgoingMessage | None
    outcome: DeliveryOutcome | None


class _Compiled:
    """A campaign and its message, compiled on first use (in the rendering thread)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._template: MessageTemplate | None = None
        self._compiled = False

    def template(self) -> MessageTemplate | None:
        if not self._compiled:
            campaign = self.campaign
            try:
                self._template = MessageTemplate(
                    subject=campaign.subject or "", html=campaign.html, text=campaign.text
                )
            except InvalidTemplate:
                self._template = None
            self._compiled = True
        return self._template


class DeliveryWorker:
    def __init__(
        self,
        *,
        storage: Storage,
        sender: MailSender,
        mail_from: Mailbox,
        unsubscribe: UnsubscribeLinks,
        clock: Clock,
        config: WorkerConfig,
        render_limits: RenderLimits | None = None,
    ) -> None:
        self._storage = storage
        self._sender = sender
        self._from = mail_from
        self._unsubscribe = unsubscribe
        self._clock = clock
        self.config = config
        self._render_limits = render_limits or RenderLimits()
        rate = config.send_rate
        self._limiter = AsyncLimiter(rate, 1.0) if rate else None
        # A lease must outlast the slowest batch, or a live batch would be
        # reclaimed: a rate-limited batch takes at least batch_size / rate.
        slowest = 2 * config.batch_size / rate if rate else 0.0
        self._lease = timedelta(seconds=max(config.lease_seconds, slowest))
        self._templates: OrderedDict[str, _Compiled] = OrderedDict()
        self._rng = random.Random()
        self._next_purge = 0.0  # monotonic; the first loop purges at once
        self.sent = 0

    async def run(self, stop: asyncio.Event, *, until_idle: bool = False) -> None:
        """Work until ``stop`` is set (finishing the batch in hand), or, with
        ``until_idle``, until no delivery is queued or in flight."""
        log.info("worker_started", provider=self._sender.name, **_public(self.config))
        failures = 0
        async with self.connections() as connections:
            while not stop.is_set():
                try:
                    purged_all = await self._purge_when_due()
                    handled = await self.run_once(connections)
                    next_due = None if handled else await self._next_due()
                    failures = 0
                except Exception:
                    # The database restarting or a deadlock must not end the worker:
                    # what it had claimed is reclaimed when the lease runs out.
                    failures += 1
                    log.exception("worker_batch_failed", consecutive=failures)
                    await _sleep_or_stop(stop, min(30.0, self.config.poll_interval * failures))
                    continue
                if handled or not purged_all:
                    continue
                if until_idle and next_due is None:
                    break
                delay = self.config.poll_interval
                if next_due is not None:
                    delay = min(delay, max(0.0, (next_due - self._clock.now()).total_seconds()))
                await _sleep_or_stop(stop, delay)
        log.info("worker_stopped", sent=self.sent)

    @asynccontextmanager
    async def connections(self) -> AsyncIterator[list[MailConnection]]:
        """One provider connection per concurrent sender, open for the worker's life."""
        async with AsyncExitStack() as stack:
            yield [
                await stack.enter_async_context(self._sender.connect())
                for _ in range(self.config.concurrency)
            ]

    async def run_once(self, connections: Sequence[MailConnection]) -> int:
        """Claim, send and record one batch; returns how many deliveries it handled."""
        token = uuid.uuid4().hex
        now = self._clock.now()
        started = time.perf_counter()
        async with self._storage.unit_of_work(write=True) as uow:
            batch = await uow.deliveries.claim(
                now=now,
                lease_until=now + self._lease,
                token=token,
                limit=self.config.batch_size,
                max_attempts=self.config.max_attempts,
            )
            campaigns = {
                cid: await self._campaign(uow, cid) for cid in {d.campaign_id for d in batch}
            }
            await uow.commit()
        if not batch:
            return 0
        # Compiling and rendering happen outside the claim's transaction (on
        # SQLite it holds the database's only write lock), in a thread: a
        # render may use up to its time limit, and the event loop (the API, in
        # the embedded worker) keeps serving meanwhile.
        prepared = await asyncio.to_thread(self._prepare_all, batch, campaigns)
        outcomes = [p.outcome for p in prepared if p.outcome is not None]
        ready = [p for p in prepared if p.message is not None]
        results = await self._send(ready, connections)
        by_id = {p.delivery.id: p.delivery for p in ready}
        done_at = self._clock.now()
        outcomes.extend(self._outcome(by_id[r.delivery_id], r, done_at) for r in results)
        await self._record(token, outcomes)
        self.sent += sum(1 for o in outcomes if o.status is DeliveryStatus.SENT)
        metrics.observe_worker_batch(outcomes, seconds=time.perf_counter() - started)
        return len(batch)

    async def purge_expired_keys(self) -> int:
        """Delete one batch of expired idempotency keys; returns how many."""
        async with self._storage.unit_of_work(write=True) as uow:
            purged = await uow.idempotency.purge_expired(
                now=self._clock.now(), limit=self.config.purge_batch_size
            )
            await uow.commit()
        if purged:
            log.info("idempotency_keys_purged", count=purged)
        return purged

    async def _purge_when_due(self) -> bool:
        """Purge when the interval has passed; False while a backlog remains."""
        started = time.monotonic()
        if started < self._next_purge:
            return True
        if await self.purge_expired_keys() >= self.config.purge_batch_size:
            return False  # more are waiting: purge again on the next turn
        self._next_purge = started + self.config.purge_interval
        return True

    async def _next_due(self) -> datetime | None:
        async with self._storage.unit_of_work(write=False) as uow:
            return await uow.deliveries.next_due_at()

    def _prepare_all(
        self, batch: Sequence[ClaimedDelivery], campaigns: Mapping[str, _Compiled]
    ) -> list[_Prepared]:
        prepared = []
        for delivery in batch:
            compiled = campaigns[delivery.campaign_id]
            try:
                prepared.append(self._prepare(delivery, compiled))
            except Exception as exc:  # a bug or an odd value: this message only
                log.exception("prepare_failed", delivery_id=delivery.id)
                reason = f"preparing the message: {type(exc).__name__}: {exc}"
                outcome = self._retry_or_fail(delivery, reason, self._clock.now())
                prepared.append(_Prepared(delivery, None, outcome))
        return prepared

    def _prepare(self, delivery: ClaimedDelivery, compiled: _Compiled) -> _Prepared:
        now = self._clock.now()
        campaign = compiled.campaign

        def decided(status: DeliveryStatus, reason: str) -> _Prepared:
            outcome = DeliveryOutcome(delivery.id, status, last_error=reason)
            return _Prepared(delivery, None, outcome)

        user = delivery.user
        if user is None:
            return decided(DeliveryStatus.SKIPPED, "the contact was deleted")
        if not delivery.email:
            return decided(DeliveryStatus.SKIPPED, "no_email")
        marketing = campaign.kind is CampaignKind.CAMPAIGN
        if marketing and user.email_opt_out:
            return decided(DeliveryStatus.SKIPPED, "unsubscribed")
        template = compiled.template()
        if template is None:
            return decided(DeliveryStatus.FAILED, "the campaign has no valid message")
        unsubscribe_url = self._unsubscribe.url(user.id) if marketing else None
        variables = message_variables(
            user=user, unsubscribe_url=unsubscribe_url, context=campaign.context
        )
        try:
            content = template.render(variables, limits=self._render_limits)
        except RenderError as exc:  # the same data fails the same way: no retry
            return decided(DeliveryStatus.FAILED, f"template: {exc}")
        message = OutgoingMessage(
            delivery_id=delivery.id,
            campaign_id=campaign.id,
            to=Mailbox(delivery.email, f"{user.first_name} {user.last_name}"),
            subject=content.subject,
            html=content.html,
            text=content.text,
            message_id=message_id_for(
                delivery_id=delivery.id, campaign_id=campaign.id, domain=self._from.domain
            ),
            unsubscribe_url=unsubscribe_url,
            date=now,
        )
        return _Prepared(delivery, message, None)

    async def _campaign(self, uow: UnitOfWork, campaign_id: str) -> _Compiled:
        cached = self._templates.get(campaign_id)
        if cached is not None:
            self._templates.move_to_end(campaign_id)
            return cached
        campaign = await uow.campaigns.get(campaign_id)
        assert campaign is not None  # deliveries are deleted with their campaign
        # A queued campaign's message never changes, so caching it is safe.
        compiled = _Compiled(campaign)
        self._templates[campaign_id] = compiled
        if len(self._templates) > _TEMPLATE_CACHE_SIZE:
            self._templates.popitem(last=False)
        return compiled

    async def _send(
        self, ready: Sequence[_Prepared], connections: Sequence[MailConnection]
    ) -> list[SendResult]:
        if not ready:
            return []
        messages = [p.message for p in ready if p.message is not None]
        size = min(self._sender.max_batch, math.ceil(len(messages) / len(connections)))
        chunks: asyncio.Queue[Sequence[OutgoingMessage]] = asyncio.Queue()
        for start in range(0, len(messages), size):
            chunks.put_nowait(messages[start : start + size])
        results: list[SendResult] = []

        async def drain(connection: MailConnection) -> None:
            while not chunks.empty():
                chunk = chunks.get_nowait()
                await self._throttle(len(chunk))
                try:
                    results.extend(await connection.send(chunk))
                except Exception as exc:  # a provider bug must not lose the batch
                    log.exception("send_failed", provider=self._sender.name)
                    reason = f"{type(exc).__name__}: {exc}"
                    results.extend(SendResult.transient(m.delivery_id, reason) for m in chunk)

        await asyncio.gather(*(drain(c) for c in connections))
        return results

    async def _throttle(self, count: int) -> None:
        if self._limiter is None:
            return
        while count > 0:  # aiolimiter takes at most its capacity per acquire
            step = min(count, max(1, int(self._limiter.max_rate)))
            await self._limiter.acquire(step)
            count -= step

    def _outcome(
        self, delivery: ClaimedDelivery, result: SendResult, now: datetime
    ) -> DeliveryOutcome:
        if result.verdict is Verdict.ACCEPTED:
            return DeliveryOutcome(
                delivery.id,
                DeliveryStatus.SENT,
                provider_message_id=result.provider_message_id,
                sent_at=now,
            )
        if result.verdict is Verdict.PERMANENT:
            return DeliveryOutcome(delivery.id, DeliveryStatus.FAILED, last_error=result.detail)
        return self._retry_or_fail(delivery, result.detail or "", now, result.retry_after)

    def _retry_or_fail(
        self,
        delivery: ClaimedDelivery,
        detail: str,
        now: datetime,
        retry_after: float | None = None,
    ) -> DeliveryOutcome:
        """A transient failure: queued again with backoff, or failed once attempts are used up."""
        if delivery.attempts >= self.config.max_attempts:
            reason = f"gave up after {delivery.attempts} attempts: {detail}"
            return DeliveryOutcome(delivery.id, DeliveryStatus.FAILED, last_error=reason)
        delay = backoff_seconds(
            delivery.attempts, base=self.config.retry_base_seconds, rng=self._rng
        )
        delay = max(delay, retry_after or 0.0)
        return DeliveryOutcome(
            delivery.id,
            DeliveryStatus.QUEUED,
            last_error=detail,
            next_attempt_at=now + timedelta(seconds=delay),
        )

    async def _record(self, token: str, outcomes: Sequence[DeliveryOutcome]) -> None:
        for attempt in range(1, 6):
            try:
                async with self._storage.unit_of_work(write=True) as uow:
                    await uow.deliveries.record(
                        token=token, outcomes=outcomes, now=self._clock.now()
                    )
                    await uow.commit()
                return
            except Exception:
                # The messages went out; if this never succeeds the lease expires
                # and they are sent again (at-least-once, never lost).
                log.exception("record_failed", attempt=attempt, deliveries=len(outcomes))
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.01))


def _public(config: WorkerConfig) -> dict[str, object]:
    return {
        "batch_size": config.batch_size,
        "concurrency": config.concurrency,
        "send_rate": config.send_rate,
        "max_attempts": config.max_attempts,
    }
