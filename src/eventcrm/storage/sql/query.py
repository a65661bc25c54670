"""Compile the filter language and keyset pagination to SQLAlchemy expressions.

Every value travels as a bound parameter; nothing is pasted into SQL text.
Case-insensitive text is compared as ``lower(column)`` against
``lower(:value)`` so both sides are folded by the same database function.

A list of values (``in``) travels as ONE parameter whatever its length (see
``one_of``): compiling a statement stays cheap, its cache key does not depend
on the list's length, and PostgreSQL's 32,767 bind-parameter ceiling is never
reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import TypeDecorator

from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.filters import And, Condition, Node, Not, Op, Or
from eventcrm.kit.sorting import SortKey

_LIKE_ESCAPE = "/"


@dataclass(frozen=True)
class FieldMap:
    """How a resource's API fields map onto columns."""

    columns: Mapping[str, ColumnElement[Any]]
    #: Text fields compared and sorted case-insensitively.
    folded: frozenset[str] = frozenset()
    #: Text fields stored as '' when absent (``is_null`` tests for '').
    empty_is_null: frozenset[str] = frozenset()
    tie_breaker: str = "id"
    #: Fields that are not columns but relations, compiled by a function
    #: (e.g. "is registered for event E" as an EXISTS subquery).
    predicates: Mapping[str, Callable[[Condition], ColumnElement[bool]]] = dataclass_field(
        default_factory=dict
    )

    def sort_expr(self, name: str) -> ColumnElement[Any]:
        column = self.columns[name]
        return sa.func.lower(column) if name in self.folded else column


def compile_filter(node: Node | None, fields: FieldMap) -> ColumnElement[bool]:
    if node is None:
        return sa.true()
    if isinstance(node, And):
        return sa.and_(sa.true(), *(compile_filter(n, fields) for n in node.items))
    if isinstance(node, Or):
        return sa.or_(sa.false(), *(compile_filter(n, fields) for n in node.items))
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.item, fields))
    return _condition(node, fields)


def _condition(cond: Condition, fields: FieldMap) -> ColumnElement[bool]:
    if cond.field in fields.predicates:
        return fields.predicates[cond.field](cond)
    column = fields.columns[cond.field]
    op, value = cond.op, cond.value
    if op is Op.IS_NULL:
        if cond.field in fields.empty_is_null:
            return column == "" if value else column != ""
        return column.is_(None) if value else column.is_not(None)
    folded = cond.field in fields.folded
    lhs = sa.func.lower(column) if folded else column

    def rhs(v: Any) -> ColumnElement[Any]:
        bound = sa.literal(v, type_=column.type)
        return sa.func.lower(bound) if folded else bound

    if op is Op.EQ:
        return lhs == rhs(value)
    if op is Op.NE:
        return lhs != rhs(value)
    if op is Op.IN:
        return one_of(column, value, fold=folded)
    if op is Op.CONTAINS:
        return _like(lhs, "%" + _escape_like(value) + "%", folded)
    if op is Op.STARTS_WITH:
        return _like(lhs, _escape_like(value) + "%", folded)
    comparisons = {
        Op.GT: lhs > rhs(value),
        Op.GTE: lhs >= rhs(value),
        Op.LT: lhs < rhs(value),
        Op.LTE: lhs <= rhs(value),
    }
    return comparisons[op]


class _ValueList(TypeDecorator[Sequence[Any]]):
    """A list of strings or integers bound as one parameter: a PostgreSQL array,
    or a JSON array text for SQLite (read back with ``json_each``)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, *, integers: bool) -> None:
        super().__init__()
        self.integers = integers

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            item: sa.types.TypeEngine[Any] = sa.BigInteger() if self.integers else sa.Text()
            return dialect.type_descriptor(postgresql.ARRAY(item))
        return dialect.type_descriptor(sa.String())

    def process_bind_param(self, value: Sequence[Any] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))


class _OneOf(ColumnElement[bool]):
    """``expr IN <values>`` with the values in one bound parameter; ``fold`` lowers each value
    with the database's ``lower()`` (the caller folds ``expr``)."""

    inherit_cache = True
    type = sa.Boolean()
    # A predicate in its own right: no "= 1" appended where SQLite wants a boolean.
    _is_implicitly_boolean = True

    def __init__(self, expr: ColumnElement[Any], values: BindParameter[Any], fold: bool) -> None:
        self.expr = expr
        self.values = values
        self.fold = fold

    # The cache key covers the expression, the parameter (its type, not its value) and folding.
    _traverse_internals = [
        ("expr", sa.sql.visitors.InternalTraversal.dp_clauseelement),
        ("values", sa.sql.visitors.InternalTraversal.dp_clauseelement),
        ("fold", sa.sql.visitors.InternalTraversal.dp_boolean),
    ]


@compiles(_OneOf, "postgresql")
def _one_of_postgresql(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.expr, **kw)
    values = compiler.process(element.values, **kw)
    value_list = element.values.type
    assert isinstance(value_list, _ValueList)
    item = "BIGINT" if value_list.integers else "TEXT"
    array = f"CAST({values} AS {item}[])"
    if element.fold:
        return f"({expr} IN (SELECT lower(v) FROM unnest({array}) AS v))"
    return f"({expr} = ANY ({array}))"


@compiles(_OneOf)
def _one_of_json(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.expr, **kw)
    values = compiler.process(element.values, **kw)
    value = "lower(value)" if element.fold else "value"
    return f"({expr} IN (SELECT {value} FROM json_each({values})))"


def one_of(
    column: ColumnElement[Any], values: Collection[str | int], *, fold: bool = False
) -> ColumnElement[bool]:
    """``column IN values`` (both sides lowered when ``fold``), the values bound as one
    parameter: PostgreSQL ``= ANY(:array)``, SQLite ``IN (SELECT value FROM json_each(:json))``."""
    if not values:
        return sa.false()
    integers = all(isinstance(v, int) for v in values)
    bound = sa.bindparam(None, list(values), type_=_ValueList(integers=integers), unique=True)
    expr = sa.func.lower(column) if fold else column
    return _OneOf(expr, bound, fold)


def one_of_param(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN :name`` for a statement built once: the strings are given at
    execution, as a list under ``name`` (as ``one_of`` binds them; an empty list
    matches nothing)."""
    return _OneOf(column, sa.bindparam(name, type_=_ValueList(integers=False)), False)


def _escape_like(value: str) -> str:
    e = _LIKE_ESCAPE
    return value.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")


def _like(lhs: ColumnElement[Any], pattern: str, folded: bool) -> ColumnElement[bool]:
    bound: ColumnElement[Any] = sa.literal(pattern, type_=sa.String())
    if folded:
        bound = sa.func.lower(bound)
    return lhs.like(bound, escape=_LIKE_ESCAPE)


def sort_columns(
    sort: Sequence[SortKey], fields: FieldMap
) -> list[tuple[ColumnElement[Any], bool]]:
    """(expression, descending) for each key, plus the id tie-breaker.

    The tie-breaker runs in the direction of the last key, so a one-key sort
    in either direction is a forward or backward scan of its (key, id) index.
    """
    keys = [(fields.sort_expr(k.field), k.descending) for k in sort]
    keys.append((fields.columns[fields.tie_breaker], sort[-1].descending if sort else False))
    return keys


def order_by(keys: Sequence[tuple[ColumnElement[Any], bool]]) -> list[ColumnElement[Any]]:
    return [expr.desc() if desc else expr.asc() for expr, desc in keys]


def after_key(
    keys: Sequence[tuple[ColumnElement[Any], bool]], values: Sequence[KeyValue]
) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys`` defines.

    Lexicographic: (k0 > v0) OR (k0 = v0 AND k1 > v1) OR ... with > flipped for
    descending keys. A redundant ``k0 >= v0`` bound in front lets the database
    seek straight to the position in an index instead of scanning from the
    start, so page 1000 costs what page 1 costs.
    """
    branches = []
    for i, (expr, desc) in enumerate(keys):
        equal_prefix = [keys[j][0] == _bind(keys[j][0], values[j]) for j in range(i)]
        step = expr < _bind(expr, values[i]) if desc else expr > _bind(expr, values[i])
        branches.append(sa.and_(*equal_prefix, step))
    first, first_desc = keys[0]
    seek = first <= _bind(first, values[0]) if first_desc else first >= _bind(first, values[0])
    return sa.and_(seek, sa.or_(*branches))


def _bind(expr: ColumnElement[Any], value: KeyValue) -> ColumnElement[Any]:
    return sa.literal(value, type_=expr.type)


async def keyset_rows(
    conn: AsyncConnection,
    query: sa.Select[Any],
    keys: Sequence[tuple[ColumnElement[Any], bool]],
    *,
    limit: int,
    after: Sequence[KeyValue] | None,
) -> tuple[list[sa.Row[Any]], tuple[KeyValue, ...] | None]:
    """One page of ``query`` in ``keys`` order, and the key of its last row if more follow."""
    query = (
        query.add_columns(*(expr.label(f"_k{i}") for i, (expr, _) in enumerate(keys)))
        .order_by(*order_by(keys))
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(after_key(keys, after))
    rows = list((await conn.execute(query)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, tuple(rows[-1]._mapping[f"_k{i}"] for i in range(len(keys)))
