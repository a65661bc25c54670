"""Filters and keyset pages evaluated in Python over the items a query read.

DynamoDB serves a key condition; everything else of the filter language (and
every sort) is applied here, to the candidates the most selective index
returned, with the same meaning as the SQL adapter's compiled queries: text
compared case-insensitively (an absent optional text is ''), ties broken by id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import And, Condition, Node, Not, Op, Or
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import KeysetPage

T = TypeVar("T")


@dataclass(frozen=True)
class Fields:
    """How a resource's filter and sort fields read from its domain value."""

    #: Text fields compared and sorted case-insensitively.
    folded: frozenset[str] = frozenset()
    #: Optional text fields: absent and '' are the same.
    empty_is_null: frozenset[str] = frozenset()
    tie_breaker: str = "id"
    #: Relation fields: their value for a row is computed (e.g. ids the row relates to).
    relations: Mapping[str, Callable[[Any], Collection[str]]] = field(default_factory=dict)


def _value(row: Any, name: str, fields: Fields) -> Any:
    v = getattr(row, name)
    if name in fields.empty_is_null and v is None:
        return ""
    if hasattr(v, "value") and isinstance(v, str):  # an enum
        return str(v)
    return v


def _fold(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def matches(node: Node | None, row: Any, fields: Fields) -> bool:
    if node is None:
        return True
    if isinstance(node, And):
        return all(matches(n, row, fields) for n in node.items)
    if isinstance(node, Or):
        return any(matches(n, row, fields) for n in node.items)
    if isinstance(node, Not):
        return not matches(node.item, row, fields)
    return _condition(node, row, fields)


def _condition(cond: Condition, row: Any, fields: Fields) -> bool:
    if cond.field in fields.relations:
        related = fields.relations[cond.field](row)
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        return any(v in related for v in values)
    actual = _value(row, cond.field, fields)
    op, wanted = cond.op, cond.value
    if op is Op.IS_NULL:
        absent = actual == "" if cond.field in fields.empty_is_null else actual is None
        return absent if wanted else not absent
    folded = cond.field in fields.folded
    if folded:
        actual = _fold(actual)
        wanted = tuple(_fold(v) for v in wanted) if isinstance(wanted, tuple) else _fold(wanted)
    if actual is None:
        return False  # SQL: a comparison with NULL is not true
    if op is Op.EQ:
        return bool(actual == wanted)
    if op is Op.NE:
        return bool(actual != wanted)
    if op is Op.IN:
        return actual in wanted
    if op is Op.CONTAINS:
        return str(wanted) in str(actual)
    if op is Op.STARTS_WITH:
        return str(actual).startswith(str(wanted))
    if op is Op.GT:
        return bool(actual > wanted)
    if op is Op.GTE:
        return bool(actual >= wanted)
    if op is Op.LT:
        return bool(actual < wanted)
    return bool(actual <= wanted)


def relation_values(node: Node | None, name: str) -> set[str]:
    """Every value a filter compares relation field ``name`` with."""
    if node is None:
        return set()
    if isinstance(node, And | Or):
        found: set[str] = set()
        for n in node.items:
            found |= relation_values(n, name)
        return found
    if isinstance(node, Not):
        return relation_values(node.item, name)
    if node.field != name:
        return set()
    return set(node.value) if isinstance(node.value, tuple) else {node.value}


def required(node: Node | None, name: str) -> tuple[str, ...] | None:
    """The values of a top-level ``eq``/``in`` condition on ``name`` that every match
    must satisfy (None when the filter has none): a key to query an index by."""
    if isinstance(node, Condition):
        items: tuple[Node, ...] = (node,)
    elif isinstance(node, And):
        items = node.items
    else:
        return None
    for item in items:
        if isinstance(item, Condition) and item.field == name and item.op in (Op.EQ, Op.IN):
            return item.value if isinstance(item.value, tuple) else (item.value,)
    return None


def sort_key(
    sort: Sequence[SortKey], fields: Fields
) -> tuple[Callable[[Any], tuple[KeyValue, ...]], list[bool]]:
    """The key tuple of a row (as a cursor carries it) and each key's direction."""
    names = [k.field for k in sort] + [fields.tie_breaker]
    directions = [k.descending for k in sort] + [sort[-1].descending if sort else False]

    def key(row: Any) -> tuple[KeyValue, ...]:
        values = []
        for name in names:
            v = _value(row, name, fields)
            values.append(_fold(v) if name in fields.folded else v)
        return tuple(values)

    return key, directions


def _compare(a: Sequence[Any], b: Sequence[Any], directions: Sequence[bool]) -> int:
    for x, y, desc in zip(a, b, directions, strict=False):
        if x == y:
            continue
        less = x < y
        return (1 if less else -1) if desc else (-1 if less else 1)
    return 0


def page(
    rows: Sequence[T],
    key: Callable[[T], tuple[KeyValue, ...]],
    directions: Sequence[bool],
    *,
    limit: int,
    after: Sequence[KeyValue] | None,
) -> KeysetPage[T]:
    """The ``limit`` rows after the key ``after`` in key order, and the last one's key
    when more follow."""
    keyed = [(key(r), r) for r in rows]
    if after is not None:
        keyed = [(k, r) for k, r in keyed if _compare(k, after, directions) > 0]

    def order(a: tuple[tuple[KeyValue, ...], T], b: tuple[tuple[KeyValue, ...], T]) -> int:
        return _compare(a[0], b[0], directions)

    keyed.sort(key=functools.cmp_to_key(order))
    if len(keyed) <= limit:
        return KeysetPage([r for _, r in keyed], None)
    chosen = keyed[:limit]
    return KeysetPage([r for _, r in chosen], chosen[-1][0])
