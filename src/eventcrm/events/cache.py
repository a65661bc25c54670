"""Event reads from the cache: one event (``GET /events/{id}``) and listings.

What is cached is the same for every caller (the event as stored; a listing
for one scope), and the service applies the caller's view on top: an
organizer's cached listing is keyed by the organizer it was limited to, and a
cached event is checked with ``sees_event`` before it is shown. Entries
depend on version numbers (kit/cache.py): ``all``; ``event:<id>`` for one
event; ``lists`` for every listing. The storage reports after each commit
which events changed (``Storage.watch_events``) and ``invalidate`` bumps
their numbers — before the write's response is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from eventcrm.events.domain import Event
from eventcrm.kit.cache import VersionedCache
from eventcrm.kit.pagination import ListResult
from eventcrm.storage.ports import EventChanges

#: Cache names (also the ``cache`` label of the hit/miss counter).
EVENT, EVENT_LIST = "event", "event_list"


class EventCache:
    def __init__(self, store: VersionedCache, *, event_ttl: float, list_ttl: float) -> None:
        self._store = store
        self._event_ttl = event_ttl
        self._list_ttl = list_ttl

    async def event(
        self, event_id: str, load: Callable[[], Awaitable[Event | None]]
    ) -> Event | None:
        return await self._store.get_or_load(
            EVENT,
            event_id,
            versions=("all", f"event:{event_id}"),
            ttl=self._event_ttl,
            load=load,
        )

    async def listing(
        self, query: str, load: Callable[[], Awaitable[ListResult[Event]]]
    ) -> ListResult[Event]:
        """The listing answering ``query`` (everything its result depends on:
        parameters, cursor, scope)."""
        result = await self._store.get_or_load(
            EVENT_LIST,
            hashlib.sha256(query.encode()).hexdigest()[:32],
            versions=("all", "lists"),
            ttl=self._list_ttl,
            load=load,
        )
        assert result is not None  # a listing is never None
        return result

    async def clear(self) -> None:
        await self._store.clear()

    async def close(self) -> None:
        await self._store.close()

    async def invalidate(self, changes: EventChanges) -> None:
        if changes.all_events:
            await self._store.bump("all")
        else:
            await self._store.bump(*(f"event:{i}" for i in sorted(changes.event_ids)), "lists")
