"""Base Pydantic models for the HTTP API: camelCase out, camelCase or snake_case in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from eventcrm.kit.ids import ID_MAX_LENGTH, ID_PATTERN
from eventcrm.kit.text import is_valid_unicode, snake_name


def to_utc(value: datetime) -> datetime:
    """UTC, reading a value without an offset as UTC; out-of-range values are bad input."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time is out of range once converted to UTC") from None


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def not_a_timestamp(value: Any) -> Any:
    """Refuses a number where a date-time is expected. Pydantic would read ``0`` or
    ``"1700000000"`` as Unix time; the API documents (and means) ISO 8601 text."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError("must be an ISO 8601 date-time such as 2030-05-01T18:00:00Z, not a number")
    return value


_AWARE_EXAMPLE = "2027-12-01T09:00:00Z"


def has_a_time_and_zone(value: Any) -> Any:
    """Says what a body date-time needs when it lacks a time or an offset: Pydantic's
    own "Input should have timezone info" does not say that a time is needed too."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10 and text[4:5] == "-" and text[7:8] == "-":
            raise PydanticCustomError(
                "datetime_needs_time",
                "expected a date-time with a time and a timezone, like {example} "
                "(got the date '{value}' alone)",
                {"example": _AWARE_EXAMPLE, "value": text},
            )
    return value


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise PydanticCustomError(
            "timezone_aware",
            "expected a date-time with a timezone, like {example} or 2027-12-01T09:00:00+01:00",
            {"example": _AWARE_EXAMPLE},
        )
    return value


#: A date-time that must carry an offset; stored and returned in UTC.
AwareUtcDateTime = Annotated[
    datetime,
    BeforeValidator(has_a_time_and_zone),
    BeforeValidator(not_a_timestamp),
    AfterValidator(_aware),
    AfterValidator(to_utc),
]
#: A date-time bound in a query; without an offset it is read as UTC.
UtcDateTime = Annotated[datetime, BeforeValidator(not_a_timestamp), AfterValidator(to_utc)]


#: How deep any request body may nest (a filter tree nests at most
#: ``kit.filters.MAX_DEPTH`` levels, about twice as many JSON levels). Far below
#: Python's recursion limit, so nothing that walks a body can run out of stack.
MAX_JSON_DEPTH = 32


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "nul_character"
    return None if is_valid_unicode(value) else "invalid_unicode"


def _first_bad_place(data: Any) -> tuple[str, tuple[str, ...]] | None:
    """The first problem hiding anywhere in a JSON-like value, as (error type, path):
    nesting deeper than ``MAX_JSON_DEPTH``, a NUL character (PostgreSQL text cannot
    hold one), or a lone surrogate (not encodable, so no database can store it).

    Walks with an explicit stack, so a hostile depth cannot exhaust Python's."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            kind = _string_problem(value)
            if kind is not None:
                return kind, path
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list | tuple):
            items = enumerate(value)
        else:
            continue
        if len(path) >= MAX_JSON_DEPTH:
            return "json_too_deep", path[:1]
        children: list[tuple[Any, tuple[str, ...]]] = []
        for key, item in items:
            kind = _string_problem(key) if isinstance(key, str) else None
            if kind is not None:
                # Named with escapes, so the error itself can be sent as UTF-8.
                return kind, (*path, key.encode("utf-8", "backslashreplace").decode())
            child = (*path, str(key))
            children.append((item, child))
        stack.extend(reversed(children))
    return None


_BAD_PLACE_MESSAGES = {
    "nul_character": "{field} must not contain NUL characters",
    "invalid_unicode": "{field} must be valid Unicode (no lone surrogates)",
    "json_too_deep": f"{{field}} nests too deeply: a request body may nest at most "
    f"{MAX_JSON_DEPTH} levels",
}


def _hidden_as_null(value: Any) -> Any:
    return value or None


#: A contact detail the caller may not see is sent as ``null`` (it is empty here).
HiddenUnlessAllowed = Annotated[
    str | None,
    BeforeValidator(_hidden_as_null),
    Field(description="`null` when the caller may not see this contact detail."),
]


#: Every other name some request body accepts for a field (field name → names), so an
#: error about the field can be reported under the name the client sent.
_OTHER_NAMES: dict[str, set[str]] = {}


def register_other_names(field: str, *names: str) -> None:
    _OTHER_NAMES.setdefault(field, set()).update(names)


def names_a_client_may_send(field: str) -> list[str]:
    """The field's camelCase and snake_case names, then its aliases (sorted)."""
    snake = snake_name(field)
    return [to_camel(snake), snake, *sorted(_OTHER_NAMES.get(snake, ()))]


def put_under_field(data: dict[str, Any], *, sent: str, field: str, value: Any) -> None:
    """Moves a value sent under ``sent`` (an alias) to ``field``; a body that also sends
    the field, under any of its names, with another value is refused naming both."""
    for key in (field, to_camel(field)):
        if key in data:
            if data[key] != value:
                raise PydanticCustomError(
                    "alias_conflict",
                    "{field} and {other} name the same field but have different values; "
                    "send only one of them",
                    {"field": sent, "other": key},
                )
            return
    data[field] = value


def split_name(value: Any) -> tuple[str, str] | None:
    """A whole name as (first name, last name): the last word is the last name and
    the words before it the first name; a single word is a first name alone."""
    if not isinstance(value, str):
        return None
    words = value.split()
    if not words:
        return None
    if len(words) == 1:
        return words[0], ""
    return " ".join(words[:-1]), words[-1]


def move_whole_name(data: Any) -> Any:
    """``name`` (a whole name, as earlier systems sent it) → firstName and lastName."""
    if not isinstance(data, dict) or "name" not in data:
        return data
    data = dict(data)
    sent = data.pop("name")
    if sent is None:
        return data
    parts = split_name(sent)
    if parts is None:
        raise PydanticCustomError(
            "whole_name",
            "{field} must be a person's name as text, e.g. Ada Lovelace",
            {"field": "name"},
        )
    first, last = parts
    put_under_field(data, sent="name", field="first_name", value=first)
    put_under_field(data, sent="name", field="last_name", value=last)
    return data


register_other_names("first_name", "name")
register_other_names("last_name", "name")


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


def _declared_limit(metadata: Any) -> int | None:
    """The length limit one piece of field metadata declares: a ``max_length``, or the
    length of an id (the id pattern allows no whitespace, but trimming runs first)."""
    limit = getattr(metadata, "max_length", None)
    if isinstance(limit, int) and not isinstance(metadata, MaxLen):
        return limit
    if getattr(metadata, "pattern", None) == ID_PATTERN:
        return ID_MAX_LENGTH
    return None


def _string_limit(annotation: Any) -> int | None:
    """The length limit a type puts on a string (``Annotated[str | None, StringConstraints]``)."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        for item in metadata:
            limit = _declared_limit(item)
            if limit is not None:
                return limit
        return _string_limit(base)
    if get_origin(annotation) in (Union, UnionType):
        limits = [_string_limit(arg) for arg in get_args(annotation)]
        return max((n for n in limits if n is not None), default=None)
    return None


def _raw_limits(field: FieldInfo) -> tuple[int | None, int | None]:
    """(limit of the field as a string, limit of each item when it is a list of strings)."""
    own = next((n for m in field.metadata if (n := _declared_limit(m)) is not None), None)
    base = field.annotation
    if get_origin(base) in (Union, UnionType):
        base = next((a for a in get_args(base) if a is not type(None)), base)
    if get_origin(base) is Annotated:
        base = get_args(base)[0]
    if get_origin(base) is list:
        return None, _string_limit(get_args(base)[0])
    return own if own is not None else _string_limit(field.annotation), None


def _too_long(key: str, at: tuple[str | int, ...], limit: int) -> PydanticCustomError:
    return PydanticCustomError(
        "string_too_long",
        "String should have at most {max_length} characters",
        {"max_length": limit, "field": key, "at": list(at)},
    )


class WriteModel(ApiModel):
    """A request body: unknown fields are rejected, read-only ones by name.

    Surrounding whitespace is trimmed from strings, and a length limit holds for
    the string as sent (trimming, which knows all of Unicode's whitespace, runs
    before Pydantic's length check, so without this a megabyte of U+0085 around
    a word would pass a 100-character limit)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: Fields a client may read but never write (snake_case names).
    read_only: ClassVar[frozenset[str]] = frozenset()
    #: Other names accepted for a field (the names earlier systems used): name → field.
    field_aliases: ClassVar[Mapping[str, str]] = {}
    #: Names that set several fields at once (``name`` → first and last name), for the
    #: OpenAPI document; the model's own validator does the mapping.
    compound_aliases: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Per accepted key (name and alias): (string limit, item limit), see ``_raw_limits``.
    _limits: ClassVar[dict[str, tuple[int | None, int | None]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._limits = {}
        for name, field in cls.model_fields.items():
            limits = _raw_limits(field)
            if limits != (None, None):
                cls._limits[name] = limits
                if field.alias:
                    cls._limits[field.alias] = limits
        for alias, name in cls.field_aliases.items():
            register_other_names(name, alias)
            if name in cls._limits:
                cls._limits[alias] = cls._limits[name]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Each field names its aliases: in its description and as ``x-aliases``."""
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        properties = handler.resolve_ref_schema(schema).get("properties", {})
        notes: dict[str, list[str]] = {}
        names: dict[str, set[str]] = {}
        for alias, field in sorted(cls.field_aliases.items()):
            notes.setdefault(field, []).append(f"`{alias}`")
            names.setdefault(field, set()).add(alias)
        for alias, fields in cls.compound_aliases.items():
            together = " and ".join(f"`{to_camel(field)}`" for field in fields)
            for field in fields:
                notes.setdefault(field, []).append(f"`{alias}` (sets {together} together)")
                names.setdefault(field, set()).add(alias)
        for field, accepted in notes.items():
            prop = properties.get(to_camel(field))
            if prop is None:
                continue
            note = f"Also accepted as {', '.join(accepted)} (names earlier systems used)."
            prop["description"] = f"{prop['description']} {note}" if "description" in prop else note
            prop["x-aliases"] = sorted(names[field])
        return schema

    @model_validator(mode="before")
    @classmethod
    def _rename_aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not cls.field_aliases:
            return data
        data = dict(data)
        for alias, name in cls.field_aliases.items():
            if alias in data:
                put_under_field(data, sent=alias, field=name, value=data.pop(alias))
        return data

    @model_validator(mode="before")
    @classmethod
    def _check_raw_lengths(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            own, per_item = cls._limits.get(key, (None, None))
            if own is not None and isinstance(value, str) and len(value) > own:
                raise _too_long(key, (key,), own)
            if per_item is not None and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, str) and len(item) > per_item:
                        raise _too_long(key, (key, i), per_item)
        return data

    @model_validator(mode="before")
    @classmethod
    def _reject_read_only_and_nul(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key in data:
            if isinstance(key, str) and snake_name(key) in cls.read_only:
                raise PydanticCustomError(
                    "read_only",
                    "{field} is read-only and cannot be set by a client",
                    {"field": key},
                )
        found = _first_bad_place(data)
        if found is not None:
            kind, where = found
            raise PydanticCustomError(
                kind, _BAD_PLACE_MESSAGES[kind], {"field": ".".join(where) or "body"}
            )
        return data


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
