"""What the features need from storage, independent of any backend.

Repositories take and return domain values. A unit of work is one
transaction: the request boundary (or a worker loop) opens it, commits on
success and rolls back on error; services never commit.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from eventcrm.access.domain import ApiKey
from eventcrm.campaigns.domain import (
    Campaign,
    CampaignKind,
    ClaimedDelivery,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    RecipientSelection,
)
from eventcrm.categories.domain import Category
from eventcrm.events.domain import Event
from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
from eventcrm.registrations.domain import (
    Participant,
    Registration,
    RegistrationStatus,
    Role,
    UserEvent,
)
from eventcrm.segments.domain import Segment
from eventcrm.templates.domain import EmailTemplate
from eventcrm.users.domain import User

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """One page of rows and, when more follow, the sort key of the last row."""

    items: list[T]
    next_key: tuple[KeyValue, ...] | None


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises UserIdTaken or UserEmailTaken."""

    async def get(self, user_id: str) -> User | None: ...

    async def replace(self, user: User) -> None:
        """Write every field of an existing user; raises UserEmailTaken."""

    async def delete(self, user_id: str) -> bool: ...

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[User]:
        """Rows matching ``where`` in ``sort`` order (ties broken by id), after a key."""

    async def count(self, *, where: Node | None) -> int: ...

    async def existing_ids(self, user_ids: Sequence[str]) -> set[str]:
        """The subset of ``user_ids`` that exist."""

    async def get_by_email(self, email: str) -> User | None:
        """The contact with this email, compared case-insensitively."""

    async def adjust_counters(
        self, user_ids: Sequence[str], *, hosted: int = 0, attended: int = 0
    ) -> None:
        """Add to eventsHosted / eventsAttended in one UPDATE (no read-modify-write)."""

    async def adjust_counters_for_event(self, event_id: str, *, sign: int) -> None:
        """Add ``sign`` to the counters of everyone an event counts for (soft delete/restore)."""


class NamedRepository(Protocol[T]):
    """Things with a unique id and a unique name: categories, email templates, segments."""

    async def add(self, item: T, /) -> None:
        """Insert; raises the feature's IdTaken or NameTaken error."""

    async def get(self, item_id: str, /) -> T | None: ...

    async def replace(self, item: T, /) -> None:
        """Write every field of an existing item; raises the feature's NameTaken error."""

    async def delete(self, item_id: str, /) -> bool: ...

    async def list(self, *, limit: int, after: tuple[KeyValue, ...] | None = None) -> KeysetPage[T]:
        """By name, then id."""


class CategoryRepository(NamedRepository[Category], Protocol):
    """Names are unique and sorted case-insensitively. ``delete`` raises
    CategoryInUse while any event (even a soft-deleted one) uses the category."""


class EventRepository(Protocol):
    async def add(self, event: Event) -> None:
        """Insert (host ids are stored as host registrations by the caller); raises
        EventIdTaken or EventSlugTaken."""

    async def get(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        """``with_hosts=False`` skips reading the host registrations (``host_ids`` is
        then empty): for a caller that does not look at them."""

    async def get_by_slug(self, slug: str) -> Event | None:
        """The live (not deleted) event with this slug."""

    async def lock(
        self, event_id: str, *, include_deleted: bool = False, with_hosts: bool = True
    ) -> Event | None:
        """Read an event and hold its write lock until the transaction ends.

        Every change to an event's registrations goes through here first, so
        they are serialised per event (PostgreSQL: SELECT ... FOR UPDATE;
        SQLite: the transaction already holds the database's write lock).
        """

    async def replace(self, event: Event) -> None:
        """Write the event's own fields (not its counters); raises EventSlugTaken."""

    async def slug_taken(self, slug: str, *, except_id: str | None = None) -> bool: ...

    async def set_deleted(self, event_id: str, deleted_at: datetime | None) -> None:
        """Soft delete (a time) or restore (None); raises EventSlugTaken on restore."""

    async def take_seat(self, event_id: str) -> bool:
        """registered_count += 1 only if a seat is free (one conditional UPDATE)."""

    async def take_open_seat(self, event_id: str) -> bool:
        """registered_count += 1 only if the event is live, open for registration
        and has a free seat: one conditional UPDATE, which also takes the event's
        lock (the row's on PostgreSQL) until the transaction ends."""

    async def take_seats_and_waitlist(
        self, event_id: str, *, seats: int, waitlisted: int
    ) -> int | None:
        """A batch of registrations in one conditional UPDATE: registered_count +=
        ``seats`` only if that many are free, and ``waitlisted`` people join the
        waitlist. Returns the last waitlist sequence number handed out (the
        batch's are the ``waitlisted`` numbers up to it), None when the seats
        were not free. The caller holds the event's lock and decided the
        numbers from the locked row."""

    async def release_seat(self, event_id: str) -> None: ...

    async def join_waitlist(self, event_id: str) -> tuple[int, int]:
        """waitlist_count += 1; returns the next waitlist sequence number and the
        1-based place it gives (the new count: whoever joins now is last)."""

    async def leave_waitlist(self, event_id: str) -> None: ...

    async def list(
        self,
        *,
        where: Node | None,
        sort: Sequence[SortKey],
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Event]: ...

    async def count(self, *, where: Node | None) -> int: ...


class RegistrationRepository(Protocol):
    async def add(self, registration: Registration) -> None: ...

    async def add_new(self, registration: Registration) -> None:
        """Insert without a savepoint; raises AlreadyRegistered when the person
        already has a registration for the event (a concurrent request got there
        first) and UserNotFound when the person no longer exists. Either leaves
        the transaction to be rolled back."""

    async def user_and_registration(
        self, event_id: str, user_id: str
    ) -> tuple[bool, Registration | None]:
        """In one read: whether the user exists, and their registration for the event."""

    async def people_and_registrations(
        self, event_id: str, user_ids: Sequence[str]
    ) -> dict[str, Registration | None]:
        """In one read, for each of ``user_ids`` that exists: their registration for
        the event, or None. People who do not exist are left out. The people found
        cannot be deleted until the transaction ends (PostgreSQL: ``FOR KEY
        SHARE``; SQLite: the write lock), so inserting their registrations cannot
        fail on the foreign key."""

    async def add_new_many(self, registrations: Sequence[Registration]) -> set[str]:
        """Insert in one statement, without a savepoint; returns the user ids
        inserted: a person who already has a registration for the event is left
        out, the transaction stays usable."""

    async def get(self, event_id: str, user_id: str) -> Registration | None:
        """With its waitlist position when waitlisted."""

    async def update(self, registration: Registration) -> None: ...

    async def delete(self, event_id: str, user_id: str) -> None: ...

    async def first_waitlisted(self, event_id: str) -> Registration | None:
        """The earliest waitlist entry (FIFO by sequence)."""

    async def for_user(self, user_id: str) -> list[Registration]:
        """Every registration of a user, on live and deleted events."""

    async def participants(
        self,
        event_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Participant]:
        """By time joined, then user id."""

    async def user_events(
        self,
        user_id: str,
        *,
        status: RegistrationStatus | None,
        role: Role | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[UserEvent]:
        """The user's live events, by start time, then event id."""

    async def managed_by(self, user_id: str) -> set[str]:
        """Ids of the live events ``user_id`` owns or hosts."""

    async def met_by(self, organizer_id: str, user_ids: Sequence[str]) -> set[str]:
        """The ids among ``user_ids`` registered or waitlisted (in any role) for a
        live event that ``organizer_id`` owns or hosts."""


class IdempotencyRepository(Protocol):
    """The first successful response to each request sent with an ``Idempotency-Key``.

    ``scope`` names the caller and the route the key belongs to; the HTTP
    boundary builds it. Rows are written in the transaction of the change they
    describe, so a rolled-back request leaves none behind.
    """

    async def lock(self, *, scope: str, key: str) -> bool:
        """Hold ``(scope, key)`` until this transaction ends. False when another
        transaction holds it: a request with this key is still in flight."""

    async def get(self, *, scope: str, key: str, now: datetime) -> StoredResponse | None:
        """The stored response, unless it has expired by ``now``."""

    async def put(self, *, scope: str, key: str, response: StoredResponse) -> None:
        """Store a response (replacing an expired one under the same key)."""

    async def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete up to ``limit`` responses expired by ``now``; returns how many."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An HTTP response as first sent, replayed to retries of the same request."""

    #: A fingerprint of the request (query and body): a retry must match it.
    request_hash: str
    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    created_at: datetime
    expires_at: datetime


class TemplateRepository(NamedRepository[EmailTemplate], Protocol):
    async def get_by_name(self, name: str) -> EmailTemplate | None: ...


class SegmentRepository(NamedRepository[Segment], Protocol):
    """Saved user filters."""


class CampaignRepository(Protocol):
    async def add(self, campaign: Campaign) -> None:
        """Insert; raises CampaignIdTaken."""

    async def get(self, campaign_id: str) -> Campaign | None: ...

    async def add_message(self, campaign: Campaign, *, template_name: str) -> None:
        """Insert a transactional message (a fresh id: no savepoint), taking its
        template id, subject, html and text from the stored template named
        ``template_name`` when there is one, else the campaign's own: one
        statement, the template read inside it."""

    async def set_recipient_count(self, campaign_id: str, count: int) -> None: ...

    async def replace(self, campaign: Campaign) -> None:
        """Write every field of an existing campaign."""

    async def delete(self, campaign_id: str) -> bool: ...

    async def list(
        self,
        *,
        kind: CampaignKind | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
        event_ids: Collection[str] | None = None,
    ) -> KeysetPage[Campaign]:
        """Newest first (created_at descending, then id); only those linked to one of
        ``event_ids`` when given."""

    async def uses_template_unsent(self, template_id: str) -> bool:
        """Whether a draft (not yet sent) campaign refers to the template."""


class DeliveryRepository(Protocol):
    """The per-recipient ledger, which is also the worker's queue."""

    async def freeze(
        self,
        *,
        campaign_id: str,
        recipients: RecipientSelection,
        honour_opt_out: bool,
        due_at: datetime,
        now: datetime,
    ) -> int:
        """Write one delivery per selected contact, in the database, in one statement.

        Opted-out contacts are written as ``skipped`` when ``honour_opt_out``.
        Returns the number of rows written.
        """

    async def counts(self, campaign_id: str) -> dict[DeliveryStatus, int]: ...

    async def list(
        self,
        *,
        campaign_id: str,
        status: DeliveryStatus | None,
        limit: int,
        after: tuple[KeyValue, ...] | None = None,
    ) -> KeysetPage[Delivery]:
        """By id."""

    async def requeue_failed(self, *, campaign_id: str, now: datetime) -> int:
        """Failed deliveries back to queued with a fresh attempt budget."""

    async def cancel_queued(self, *, campaign_id: str, now: datetime) -> int:
        """Queued deliveries, and claimed ones whose lease ran out (abandoned by
        their worker), to cancelled; those a live worker holds finish."""

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        max_attempts: int | None = None,
    ) -> builtins.list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries (queued and due, or sending with an
        expired lease) for the holder of ``token`` until ``lease_until``; never hand
        one delivery to two concurrent claimers. Counts an attempt on each. With
        ``max_attempts``, an expired claim that already used them all is marked
        failed instead of being claimed again."""

    async def record(
        self, *, token: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> int:
        """Write outcomes of deliveries still held under ``token``; returns how many."""

    async def next_due_at(self) -> datetime | None:
        """When the earliest queued delivery becomes due, or the earliest lease in
        flight runs out (None: nothing is queued or being sent)."""

    async def count_due(self, now: datetime) -> int:
        """How many deliveries are due at ``now`` (queued, a retry, or a lapsed claim)."""


class ApiKeyRepository(Protocol):
    """API keys, by their visible prefix; the secret itself is never stored."""

    async def add(self, key: ApiKey) -> None:
        """Insert; raises ApiKeyPrefixTaken."""

    async def get(self, prefix: str) -> ApiKey | None: ...

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[ApiKey]:
        """Oldest first (created_at, then prefix)."""

    async def revoke(self, prefix: str, *, at: datetime) -> bool:
        """Mark revoked (an already revoked key keeps its first time); False if absent."""

    async def touch(self, prefix: str, *, at: datetime, unless_since: datetime) -> bool:
        """Set ``last_used_at`` to ``at`` unless it is already at or after
        ``unless_since`` (one conditional UPDATE); whether it was written."""

    async def any(self) -> bool:
        """Whether any key exists at all (revoked and expired ones included)."""


class UnitOfWork(Protocol):
    api_keys: ApiKeyRepository
    users: UserRepository
    categories: CategoryRepository
    events: EventRepository
    registrations: RegistrationRepository
    idempotency: IdempotencyRepository
    templates: TemplateRepository
    segments: SegmentRepository
    campaigns: CampaignRepository
    deliveries: DeliveryRepository

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the transaction has committed (dropped on rollback)."""


@dataclass(frozen=True, slots=True)
class EventChanges:
    """What a committed transaction may have changed in what an event read
    shows (the event's row, its hosts, its category's name): these events, or
    when the storage cannot tell which, every event (``all_events``)."""

    event_ids: frozenset[str]
    all_events: bool = False


#: Told, after each commit that changed events, what changed (see ``watch_events``).
EventChangeListener = Callable[[EventChanges], Awaitable[None]]


class Storage(Protocol):
    def unit_of_work(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction; ``write=False`` lets a backend use a cheaper read path
        (no transaction of its own: each statement sees the latest commit)."""

    def watch_events(self, listener: EventChangeListener) -> Callable[[], None]:
        """Call ``listener`` after every commit, through any unit of work, that
        may have changed an event read; returns the function that stops it.
        A bound method is held weakly (it stops when its object is dropped).
        The storage works this out from the statements it runs, so no write
        path can forget to report itself."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve queries."""

    async def refresh_statistics(self) -> None:
        """Give the query planner fresh statistics (where the backend does not itself)."""

    async def close(self) -> None: ...
