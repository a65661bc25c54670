"""Keyset pagination shared by every listing: cursor in, page plus next cursor out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventcrm.errors import InvalidCursor
from eventcrm.kit.cursor import CursorCodec, KeyValue
from eventcrm.kit.filters import Node
from eventcrm.kit.sorting import SortKey, sort_signature

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class ListResult(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int | None = None


class _Page(Protocol[T_co]):
    @property
    def items(self) -> Sequence[T_co]: ...
    @property
    def next_key(self) -> tuple[KeyValue, ...] | None: ...


After = tuple[KeyValue, ...] | None


async def paginate(
    *,
    fetch: Callable[..., Awaitable[_Page[T]]],
    count: Callable[..., Awaitable[int]] | None,
    cursors: CursorCodec,
    listing: str,
    where: Node | None,
    sort: Sequence[SortKey],
    limit: int,
    cursor: str | None,
    include_total: bool,
    cursor_loc: tuple[str | int, ...] = ("query", "cursor"),
) -> ListResult[T]:
    """One page of a filtered, sorted listing (``fetch(where=, sort=, limit=, after=)``),
    with the total when asked for."""
    result = await page_in_order(
        lambda limit, after: fetch(where=where, sort=sort, limit=limit, after=after),
        cursors=cursors,
        listing=listing,
        sort=sort,
        limit=limit,
        cursor=cursor,
        cursor_loc=cursor_loc,
    )
    if include_total and count is not None:
        return ListResult(result.items, result.next_cursor, await count(where=where))
    return result


async def page_in_order(
    fetch: Callable[[int, After], Awaitable[_Page[T]]],
    *,
    cursors: CursorCodec,
    listing: str,
    sort: Sequence[SortKey],
    limit: int,
    cursor: str | None,
    cursor_loc: tuple[str | int, ...] = ("query", "cursor"),
) -> ListResult[T]:
    """One keyset page of ``fetch(limit, after)``, whose rows come in ``sort`` order.
    The cursor is bound to its listing (a name such as ``"users"`` or
    ``"campaigns/<id>/deliveries"``) and to the sort it was made for."""
    signature = sort_signature(sort)
    after = (
        cursors.decode(cursor, listing=listing, sort=signature, loc=cursor_loc) if cursor else None
    )
    if after is not None and len(after) != len(sort) + 1:  # + the id tie-breaker
        raise InvalidCursor(loc=cursor_loc)
    page = await fetch(limit, after)
    next_cursor = (
        cursors.encode(listing=listing, sort=signature, key=page.next_key)
        if page.next_key is not None
        else None
    )
    return ListResult(list(page.items), next_cursor)
