"""Base Pydantic models for the HTTP API: camelCase out, camelCase or snake_case in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from eventcrm.kit.text import snake_name


def to_utc(value: datetime) -> datetime:
    """UTC, reading a value without an offset as UTC; out-of-range values are bad input."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time is out of range once converted to UTC") from None


#: A date-time that must carry an offset; stored and returned in UTC.
AwareUtcDateTime = Annotated[AwareDatetime, AfterValidator(to_utc)]
#: A date-time bound in a query; without an offset it is read as UTC.
UtcDateTime = Annotated[datetime, AfterValidator(to_utc)]


def _nul_location(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where a NUL character hides in a JSON-like value (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_location(item, (*path, str(key)))
        if found is not None:
            return found
    return None


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        from_attributes=True,
    )


class WriteModel(ApiModel):
    """A request body: unknown fields are rejected, read-only ones by name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    #: Fields a client may read but never write (snake_case names).
    read_only: ClassVar[frozenset[str]] = frozenset()

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
        where = _nul_location(data)
        if where is not None:
            raise PydanticCustomError(
                "nul_character",
                "{field} must not contain NUL characters",
                {"field": ".".join(where)},
            )
        return data


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
