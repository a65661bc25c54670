"""Counting budgets (``600/minute``) per caller, in memory or in Redis, with the
``limits`` library's sliding window counter; the HTTP boundary and the
campaigns service use it.

Request budgets in Redis count with one script of ours instead of ``limits``'
two calls (its hit, then its window statistics for the ``RateLimit-*``
headers): every request of a deployment with Redis paid both round trips, and
with two server processes they cost about 40 % of an uncached event read's
throughput (docs/benchmarks.md). The script is ``limits``' own algorithm —
the same window keys' arithmetic, the same statistics — done in one
round trip, which is also atomic: the statistics are those of the hit.

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

import redis.asyncio
import structlog
from limits import RateLimitItem, RateLimitItemPerDay, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

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
    or more limits (``10/minute;100/day``), counted with a sliding window: in
    ``storage`` (memory), or in Redis at ``redis_url`` when one is given."""

    def __init__(
        self,
        storage: Storage,
        budgets: dict[str, str],
        *,
        redis_url: str | None = None,
        key_prefix: str = "eventcrm",
    ) -> None:
        self._counter: _LimitsCounter | _RedisCounter = (
            _LimitsCounter(storage)
            if redis_url is None
            else _RedisCounter(redis_url, key_prefix=key_prefix)
        )
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
                    decision = await self._counter.hit(item, budget, caller)
                    decisions.append(decision)
                    if not decision.allowed:
                        break
        except (StorageError, RedisError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + RETRY_STORAGE_AFTER_SECONDS
            log.warning("rate_limit_storage_unavailable", budget=budget, error=repr(exc))
            return None
        # The refusing limit, else the one closest to running out.
        return min(decisions, key=lambda d: (d.allowed, d.remaining))

    async def close(self) -> None:
        await self._counter.close()


def _decision(item: RateLimitItem, allowed: bool, reset_time: float, remaining: int) -> Decision:
    return Decision(
        allowed=allowed,
        limit=item.amount,
        remaining=remaining,
        reset_after=max(1, math.ceil(reset_time - time.time())),
    )


class _LimitsCounter:
    """``limits``' sliding window counter: the hit, then the window's statistics."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Decision:
        allowed = await self._limiter.hit(item, *identifiers)
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return _decision(item, allowed, stats.reset_time, stats.remaining)

    async def close(self) -> None:
        return None


#: ``limits``' sliding window counter in Redis (its acquire and its window
#: statistics, in one script): KEYS previous and current window, ARGV limit,
#: expiry (ms), amount. Returns allowed (0/1) and, after the hit, the previous
#: window's count and remaining ms, and the current window's.
_HIT_SCRIPT = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(tonumber(redis.call('pttl', KEYS[1])) or 0, 0)
local current_count = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])) or 0, 0)
local allowed = 0
local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
if amount <= limit and weighted + amount <= limit then
    allowed = 1
    if redis.call('exists', KEYS[2]) == 1 then
        current_count = redis.call('incrby', KEYS[2], amount)
    else
        redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
        current_count = amount
        current_ttl = expiry * 2
    end
end
return {allowed, previous_count, previous_ttl, current_count, current_ttl}
"""


class _RedisCounter:
    """The same counter in Redis, one round trip per limit (``_HIT_SCRIPT``)."""

    def __init__(self, url: str, *, key_prefix: str) -> None:
        self._client = redis.asyncio.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(_HIT_SCRIPT)
        self._prefix = f"{key_prefix}:budget:"

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Decision:
        key = self._prefix + item.key_for(*identifiers)
        expiry_ms = item.get_expiry() * 1000
        answer = await self._script(
            keys=[f"{key}:previous", f"{key}:current"], args=[item.amount, expiry_ms, 1]
        )
        allowed, previous_count, previous_ms, current_count, current_ms = (int(v) for v in answer)
        expiry = item.get_expiry()
        previous_in, current_in = previous_ms / 1000, current_ms / 1000
        weighted = previous_count * previous_in / expiry + current_count
        remaining = max(0, item.amount - math.floor(weighted))
        # When the window has room again: limits' get_window_stats, on the same numbers.
        now = time.time()
        reset_in = math.inf
        if previous_count:
            reset_in = previous_in % (expiry / previous_count)
        if current_count:
            reset_in = min(reset_in, current_in % expiry)
        return _decision(
            item, bool(allowed), now + (0 if reset_in == math.inf else reset_in), remaining
        )

    async def close(self) -> None:
        await self._client.aclose()


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
