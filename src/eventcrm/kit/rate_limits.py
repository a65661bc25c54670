"""Counting budgets (``600/minute``) per caller, in memory or in Redis, with the
``limits`` library; the HTTP boundary and the campaigns service use it.

A request budget fails open: when the storage (Redis) cannot be reached the
request is served and a warning is logged, so a cache outage never takes the
API down. A quota that guards sending email fails closed (``Unavailable``, 503):
mail cannot be unsent.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, RateLimitItemPerDay, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from eventcrm.errors import Unavailable

log = structlog.get_logger(__name__)

#: How long counting one request may take before the storage counts as down.
REDIS_TIMEOUT_SECONDS = 1.0
#: After a failure, request budgets are not counted (fail open at once) for this long.
RETRY_STORAGE_AFTER_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit on one budget (what ``RateLimit-*`` headers report)."""

    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the budget has room again (at least 1).
    reset_after: int


def build_counter_storage(redis_url: str | None, *, key_prefix: str) -> Storage:
    """Memory by default; Redis (through ``coredis``) when a URL is given."""
    if redis_url is None:
        return MemoryStorage()
    # wrap_exceptions: every client error surfaces as limits' StorageError. The
    # time-outs keep an unreachable (not refusing) Redis from stalling requests.
    return RedisStorage(
        f"async+{redis_url}",
        key_prefix=key_prefix,
        wrap_exceptions=True,
        connect_timeout=REDIS_TIMEOUT_SECONDS,
        stream_timeout=REDIS_TIMEOUT_SECONDS,
    )


class RequestBudgets:
    """Named request budgets (``default``, ``registrations``, ``email``), each one
    or more limits (``10/minute;100/day``), counted with a sliding window."""

    def __init__(self, storage: Storage, budgets: dict[str, str]) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._budgets = {name: parse_many(spec) for name, spec in budgets.items()}
        self._down_until = 0.0

    async def hit(self, budget: str, caller: str) -> Decision | None:
        """Count one request of ``caller`` against ``budget``; ``None`` when the
        storage is unreachable (the request goes through)."""
        if time.monotonic() < self._down_until:
            return None  # a recent failure: do not make every request wait for it
        decisions: list[Decision] = []
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                for item in self._budgets[budget]:
                    allowed = await self._limiter.hit(item, budget, caller)
                    decisions.append(await self._decision(item, allowed, budget, caller))
                    if not allowed:
                        break
        except (StorageError, TimeoutError) as exc:
            self._down_until = time.monotonic() + RETRY_STORAGE_AFTER_SECONDS
            log.warning("rate_limit_storage_unavailable", budget=budget, error=repr(exc))
            return None
        # The refusing limit, else the one closest to running out.
        return min(decisions, key=lambda d: (d.allowed, d.remaining))

    async def _decision(self, item: RateLimitItem, allowed: bool, *identifiers: str) -> Decision:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=stats.remaining,
            reset_after=max(1, math.ceil(stats.reset_time - time.time())),
        )


class DailyRecipientQuota:
    """How many email recipients one caller may queue per day: a sliding
    window, and a send that does not fit takes nothing from it."""

    def __init__(self, storage: Storage, per_day: int) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_day = per_day
        self._item = RateLimitItemPerDay(max(per_day, 1))  # 0: nothing at all

    async def take(self, *, caller: str, count: int) -> int | None:
        """Take ``count`` recipients from today's quota: ``None`` when granted
        (all of them), else the seconds until the quota starts again."""
        if count <= 0:
            return None
        if self.per_day == 0:
            return 86_400
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                if await self._limiter.hit(self._item, "recipients", caller, cost=count):
                    return None
                stats = await self._limiter.get_window_stats(self._item, "recipients", caller)
        except (StorageError, TimeoutError) as exc:
            log.warning("recipient_quota_unavailable", error=repr(exc))
            raise Unavailable(
                "The sending quota cannot be checked right now; nothing was sent. Retry later."
            ) from exc
        return max(1, math.ceil(stats.reset_time - time.time()))
