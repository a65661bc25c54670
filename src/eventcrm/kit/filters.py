"""The filter language: a small typed tree that selects rows of one resource.

JSON form::

    {"and": [node, ...]}    every node matches (an empty list matches everything)
    {"or":  [node, ...]}    some node matches (an empty list matches nothing)
    {"not": node}
    {"field": "company", "op": "in", "value": ["Acme", "Globex"]}

Each resource declares its fields (an allow-list with a type). Text comparisons
are case-insensitive (folded by the database's ``lower()``, which on SQLite
folds ASCII letters only). ``is_null`` takes ``true`` or ``false``; for text
fields an absent value and an empty one are the same thing.

This module only parses and validates; each storage adapter compiles the tree
to its own query language (never by building query strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from eventcrm.errors import FieldProblem, InvalidInput
from eventcrm.kit.text import is_valid_unicode, snake_name

#: Limits on one filter tree, so a request's parsing and query stay small.
MAX_DEPTH = 8
MAX_NODES = 256
#: Values in one ``in`` list, and values in the whole tree (every list counted in full).
MAX_IN_VALUES = 1000
MAX_VALUES = 2000
MAX_TEXT_LENGTH = 320
#: The range of the integer columns (PostgreSQL ``integer``, 32 bits).
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


class FieldType(StrEnum):
    TEXT = "text"
    INT = "int"
    DATETIME = "datetime"
    #: An id of another resource (exact, case-sensitive): a relation predicate.
    REF = "ref"
    #: One of a fixed set of strings.
    ENUM = "enum"
    BOOL = "bool"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IS_NULL = "is_null"


_OPS_BY_TYPE: dict[FieldType, frozenset[Op]] = {
    FieldType.TEXT: frozenset({Op.EQ, Op.NE, Op.IN, Op.CONTAINS, Op.STARTS_WITH, Op.IS_NULL}),
    FieldType.INT: frozenset({Op.EQ, Op.NE, Op.IN, Op.GT, Op.GTE, Op.LT, Op.LTE}),
    FieldType.DATETIME: frozenset({Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.IS_NULL}),
    FieldType.REF: frozenset({Op.EQ, Op.IN}),
    FieldType.ENUM: frozenset({Op.EQ, Op.IN}),
    FieldType.BOOL: frozenset({Op.EQ, Op.NE}),
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: FieldType
    nullable: bool = False
    choices: frozenset[str] = frozenset()
    description: str = ""

    @property
    def ops(self) -> frozenset[Op]:
        ops = _OPS_BY_TYPE[self.type]
        return ops if self.nullable else ops - {Op.IS_NULL}


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = And | Or | Not | Condition


def all_of(*nodes: Node | None) -> Node | None:
    """Combine optional nodes with AND, dropping the absent ones."""
    present = tuple(n for n in nodes if n is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)


def parse_filter(
    raw: Any,
    *,
    fields: Mapping[str, FieldSpec],
    loc: tuple[str | int, ...] = ("body", "filter"),
) -> Node | None:
    """Validate a JSON filter tree against a resource's fields.

    Raises InvalidInput naming the exact place of the first problem.
    """
    if raw is None:
        return None
    return _Parser(fields).node(raw, loc, depth=1)


class _Parser:
    def __init__(self, fields: Mapping[str, FieldSpec]) -> None:
        self.fields = fields
        self.count = 0
        self.values = 0

    def fail(self, loc: tuple[str | int, ...], message: str, kind: str = "filter") -> InvalidInput:
        return InvalidInput(f"Invalid filter: {message}", [FieldProblem(loc, message, kind)])

    def node(self, raw: Any, loc: tuple[str | int, ...], depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(loc, f"a filter may have at most {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise self.fail(loc, f"a filter may nest at most {MAX_DEPTH} levels deep")
        if not isinstance(raw, dict):
            raise self.fail(loc, "each filter node must be a JSON object")
        keys = set(raw)
        if keys in ({"and"}, {"or"}):
            (name,) = keys
            items = raw[name]
            if not isinstance(items, list):
                raise self.fail((*loc, name), f"'{name}' takes a list of filter nodes")
            parsed = tuple(
                self.node(item, (*loc, name, i), depth + 1) for i, item in enumerate(items)
            )
            return And(parsed) if name == "and" else Or(parsed)
        if keys == {"not"}:
            return Not(self.node(raw["not"], (*loc, "not"), depth + 1))
        if "field" in keys and keys <= {"field", "op", "value"}:
            return self.condition(raw, loc)
        raise self.fail(
            loc,
            "a filter node is {'and': [...]}, {'or': [...]}, {'not': {...}} "
            "or {'field': ..., 'op': ..., 'value': ...}; "
            f"got keys {sorted(keys)}",
        )

    def condition(self, raw: dict[str, Any], loc: tuple[str | int, ...]) -> Condition:
        name = raw["field"]
        spec = self.fields.get(snake_name(name)) if isinstance(name, str) else None
        if spec is None:
            raise self.fail(
                (*loc, "field"),
                f"unknown field {name!r}; allowed: {', '.join(sorted(self.fields))}",
                "filter_field",
            )
        op_raw = raw.get("op")
        op = Op(op_raw) if isinstance(op_raw, str) and op_raw in set(Op) else None
        if op is None or op not in spec.ops:
            allowed = ", ".join(sorted(spec.ops))
            raise self.fail(
                (*loc, "op"),
                f"operator {op_raw!r} is not allowed for field {spec.name!r}; allowed: {allowed}",
                "filter_op",
            )
        if "value" not in raw:
            raise self.fail((*loc, "value"), "a condition needs a 'value'")
        value = self.value(spec, op, raw["value"], (*loc, "value"))
        return Condition(spec.name, op, value)

    def value(self, spec: FieldSpec, op: Op, raw: Any, loc: tuple[str | int, ...]) -> Any:
        if op is Op.IS_NULL:
            if not isinstance(raw, bool):
                raise self.fail(loc, "'is_null' takes true or false")
            return raw
        if op is Op.IN:
            if not isinstance(raw, list) or not raw:
                raise self.fail(loc, "'in' takes a non-empty list")
            if len(raw) > MAX_IN_VALUES:
                raise self.fail(loc, f"'in' takes at most {MAX_IN_VALUES} values")
            self.count_values(len(raw), loc)
            return tuple(self.scalar(spec, v, (*loc, i)) for i, v in enumerate(raw))
        self.count_values(1, loc)
        return self.scalar(spec, raw, loc)

    def count_values(self, n: int, loc: tuple[str | int, ...]) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise self.fail(loc, f"a filter may hold at most {MAX_VALUES} values in all")

    def scalar(self, spec: FieldSpec, raw: Any, loc: tuple[str | int, ...]) -> Any:
        if spec.type in (FieldType.TEXT, FieldType.REF, FieldType.ENUM):
            if not isinstance(raw, str):
                raise self.fail(loc, f"field {spec.name!r} takes a string")
            if len(raw) > MAX_TEXT_LENGTH:
                raise self.fail(loc, f"a string value may be at most {MAX_TEXT_LENGTH} characters")
            if "\x00" in raw:
                raise self.fail(loc, "a string value must not contain NUL characters")
            if not is_valid_unicode(raw):
                raise self.fail(loc, "a string value must be valid Unicode (no lone surrogates)")
            if spec.type is FieldType.ENUM and raw not in spec.choices:
                allowed = ", ".join(sorted(spec.choices))
                raise self.fail(loc, f"{raw!r} is not one of: {allowed}")
            return raw
        if spec.type is FieldType.INT:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise self.fail(loc, f"field {spec.name!r} takes an integer")
            if not INT_MIN <= raw <= INT_MAX:
                raise self.fail(
                    loc, f"field {spec.name!r} takes an integer from {INT_MIN} to {INT_MAX}"
                )
            return raw
        if spec.type is FieldType.BOOL:
            if not isinstance(raw, bool):
                raise self.fail(loc, f"field {spec.name!r} takes true or false")
            return raw
        if not isinstance(raw, str):
            raise self.fail(loc, f"field {spec.name!r} takes an ISO 8601 date-time string")
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise self.fail(loc, f"{raw!r} is not an ISO 8601 date-time") from None
        # A date-time without an offset is read as UTC.
        try:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            raise self.fail(loc, f"{raw!r} is out of range once converted to UTC") from None
