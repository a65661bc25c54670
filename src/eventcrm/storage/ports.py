"""What the features need from storage, independent of any backend.

Repositories take and return domain values. A unit of work is one
transaction: the request boundary (or a worker loop) opens it, commits on
success and rolls back on error; services never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey
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


class UnitOfWork(Protocol):
    users: UserRepository

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the transaction has committed (dropped on rollback)."""


class Storage(Protocol):
    def unit_of_work(self, *, write: bool) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction; ``write=False`` lets a backend use a cheaper read path."""

    async def ping(self) -> None:
        """Raise if the backend cannot serve queries."""

    async def close(self) -> None: ...
