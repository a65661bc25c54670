"""Who hears about committed event changes: the registry both storage backends keep
for ``Storage.watch_events``."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable

from eventcrm.storage.ports import EventChangeListener


class EventWatchers:
    """Listeners a unit of work tells, after its commit, which events it changed.

    A bound method is held weakly: a cache dropped with its app (tests build many
    apps over one storage) stops listening instead of living on."""

    def __init__(self) -> None:
        self._watchers: list[Callable[[], EventChangeListener | None]] = []

    def add(self, listener: EventChangeListener) -> Callable[[], None]:
        """Start telling ``listener``; returns what stops it."""
        watcher: Callable[[], EventChangeListener | None] = (
            weakref.WeakMethod(listener) if inspect.ismethod(listener) else lambda: listener
        )
        self._watchers.append(watcher)

        def stop() -> None:
            self._watchers = [w for w in self._watchers if w is not watcher]

        return stop

    def current(self) -> tuple[EventChangeListener, ...]:
        """The listeners still alive (forgetting those whose owner is gone)."""
        listeners = tuple(x for watcher in self._watchers if (x := watcher()) is not None)
        if len(listeners) < len(self._watchers):
            self._watchers = [w for w in self._watchers if w() is not None]
        return listeners
