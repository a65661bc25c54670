"""A read-through cache invalidated by version numbers, over cashews: each
process's memory, or Redis shared by every process.

An entry's key carries the current numbers of the versions it depends on
(``all``, ``event:<id>``, …); invalidating bumps a number, so every entry
built on the old one is never read again and simply expires. A reader takes
the numbers *before* it loads from the database: if a write commits and bumps
in between, what it loaded is stored under the old numbers, where no later
reader looks. So a read that starts after an invalidation returned never
sees data from before it, in any process sharing the cache.

Failing open: when Redis cannot be reached, reads load from the database
(counted as misses) and the error is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from cashews import Cache

from eventcrm.kit import metrics

log = structlog.get_logger(__name__)

T = TypeVar("T")
_MISSING: Any = object()
#: Entries kept in each process's memory (least recently used go first).
MEMORY_ENTRIES = 10_000


def build_cache_backend(redis_url: str | None, *, secret: str) -> Cache:
    """Memory by default; Redis when a URL is given (values pickled and signed
    with ``secret``, so only this deployment's processes can write them)."""
    backend = Cache()
    if redis_url is None:
        backend.setup(f"mem://?size={MEMORY_ENTRIES}")
    else:
        backend.setup(
            redis_url,
            secret=secret,
            digestmod=b"sha256",
            suppress=False,  # errors reach us: counted as misses and logged
            socket_timeout=1,
            socket_connect_timeout=1,
        )
    return backend


class VersionedCache:
    def __init__(self, backend: Cache, *, prefix: str, shared: bool) -> None:
        self._backend = backend
        self._prefix = prefix
        # In one process the numbers live in a dict, out of reach of the
        # entries' LRU eviction (an evicted number would restart at 0).
        self._local: dict[str, int] | None = None if shared else {}

    async def get_or_load(
        self,
        name: str,
        key: str,
        *,
        versions: Sequence[str],
        ttl: float,
        load: Callable[[], Awaitable[T | None]],
    ) -> T | None:
        """The cached value of ``name``/``key``, else ``load()`` (stored unless None)."""
        if ttl <= 0:
            return await load()
        try:
            numbers = await self._numbers(versions)
            full_key = f"{self._prefix}:{name}:{key}:{numbers}"
            found = await self._backend.get(full_key, default=_MISSING)
        except Exception as exc:
            log.warning("cache_unavailable", cache=name, error=repr(exc))
            metrics.CACHE_LOOKUPS.labels(cache=name, result="miss").inc()
            return await load()
        if found is not _MISSING:
            metrics.CACHE_LOOKUPS.labels(cache=name, result="hit").inc()
            return found  # type: ignore[no-any-return]
        metrics.CACHE_LOOKUPS.labels(cache=name, result="miss").inc()
        value = await load()
        if value is not None:
            try:
                await self._backend.set(full_key, value, expire=ttl)
            except Exception as exc:
                log.warning("cache_unavailable", cache=name, error=repr(exc))
        return value

    async def bump(self, *versions: str) -> None:
        """Invalidate every entry that depends on one of ``versions``."""
        if self._local is not None:
            for version in versions:
                self._local[version] = self._local.get(version, 0) + 1
            return
        for version in versions:
            await self._backend.incr(self._version_key(version))

    async def clear(self) -> None:
        """Forget everything (tests; a restore of the database from a backup)."""
        if self._local is not None:
            self._local.clear()
            await self._backend.clear()
        else:
            await self._backend.incr(self._version_key("all"))

    async def close(self) -> None:
        await self._backend.close()

    async def _numbers(self, versions: Sequence[str]) -> str:
        if self._local is not None:
            return ".".join(str(self._local.get(v, 0)) for v in versions)
        found = await self._backend.get_many(*(self._version_key(v) for v in versions))
        return ".".join(str(n or 0) for n in found)

    def _version_key(self, version: str) -> str:
        return f"{self._prefix}:v:{version}"
