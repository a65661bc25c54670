"""Group commit: concurrent attendee registrations for one event share a transaction.

One ``RegistrationBatcher`` per process (the composition root builds it; see
docs/architecture.md). A request that finds no batch in flight for its event
starts one at once — nothing waits for a window to close, so a registration
without a queue costs no added latency. Requests that arrive while a batch is
in flight queue up and form the next batch, up to ``max_batch`` people. Under
load the event's lock is then taken once per batch instead of once per
request, which is what bounds a rush's throughput (docs/registrations.md).

Like the delivery worker's loop, the batcher is a boundary: it opens the
unit of work of each batch, runs the use case (``batch.register_attendees``,
which never commits), commits, and only then answers each waiting request
with its own outcome. A batch that fails as a whole (the database
unreachable, a deadlock) gives every member that error; nothing of it was
written. A request cancelled while queued is dropped from its batch; one
cancelled while its batch runs may still be registered (as when a client
disconnects after a commit).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field

from eventcrm.access.domain import Actor
from eventcrm.access.policy import require_writer
from eventcrm.errors import Unavailable
from eventcrm.kit.clock import Clock
from eventcrm.notifications.ports import Notifier
from eventcrm.registrations.batch import AttendeeRequest, Outcome, register_attendees
from eventcrm.registrations.domain import Registration
from eventcrm.storage.ports import Storage, UnitOfWork


@dataclass(slots=True)
class _Member:
    request: AttendeeRequest
    answer: asyncio.Future[Registration]


@dataclass(slots=True)
class _Queue:
    """One event's registrations waiting for the next batch, and the task draining them."""

    members: list[_Member] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class RegistrationBatcher:
    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        notifier_for: Callable[[UnitOfWork], Notifier],
        max_batch: int,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._notifier_for = notifier_for
        self._max_batch = max_batch
        self._queues: dict[str, _Queue] = {}
        self._hold = 0

    async def register(self, *, event_id: str, user_id: str, actor: Actor) -> Registration:
        """Register ``user_id`` as an attendee of ``event_id`` in the event's next
        batch; raises the domain error this request alone is answered with."""
        require_writer(actor, "change registrations")  # refused before it queues
        request = AttendeeRequest(user_id=user_id, actor=actor, arrived_at=self._clock.now())
        member = _Member(request, asyncio.get_running_loop().create_future())
        queue = self._queues.setdefault(event_id, _Queue())
        queue.members.append(member)
        if queue.task is None and len(queue.members) >= self._hold:
            self._hold = 0
            # A fresh context: the batch's log lines are not one request's.
            queue.task = asyncio.create_task(
                self._drain(event_id, queue), context=contextvars.Context()
            )
        return await member.answer

    def hold(self, count: int) -> None:
        """For tests: the next batch to start (for any event) waits
        until ``count`` registrations are queued for its event, so exactly those
        form one batch. Holds nothing once that batch has started."""
        self._hold = count

    def queued(self, event_id: str) -> int:
        """Registrations waiting for ``event_id``'s next batch (not the one in flight)."""
        queue = self._queues.get(event_id)
        return len(queue.members) if queue is not None else 0

    async def close(self) -> None:
        """Wait for the batches in flight (at shutdown, after the last request)."""
        tasks = [q.task for q in self._queues.values() if q.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self, event_id: str, queue: _Queue) -> None:
        try:
            while queue.members:
                batch = queue.members[: self._max_batch]
                del queue.members[: self._max_batch]
                waiting = [m for m in batch if not m.answer.done()]  # cancelled while queued
                if waiting:
                    await self._run(event_id, waiting)
        finally:
            for member in queue.members:  # only when cancelled itself (shutdown)
                if not member.answer.done():
                    member.answer.set_exception(Unavailable("The server is shutting down."))
            queue.task = None
            if self._queues.get(event_id) is queue:
                del self._queues[event_id]

    async def _run(self, event_id: str, members: list[_Member]) -> None:
        requests = [m.request for m in members]
        try:
            async with self._storage.unit_of_work(write=True) as uow:
                outcomes = await register_attendees(
                    uow, event_id=event_id, requests=requests, notifier=self._notifier_for(uow)
                )
                await uow.commit()
        except BaseException as error:
            failure = error if isinstance(error, Exception) else Unavailable()
            for member in members:
                if not member.answer.done():
                    member.answer.set_exception(failure)
            if not isinstance(error, Exception):
                raise
            return
        for member, outcome in zip(members, outcomes, strict=True):
            _answer(member, outcome)


def _answer(member: _Member, outcome: Outcome) -> None:
    if member.answer.done():  # its request was cancelled meanwhile
        return
    if isinstance(outcome, Registration):
        member.answer.set_result(outcome)
    else:
        member.answer.set_exception(outcome)
