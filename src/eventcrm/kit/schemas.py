"""Base Pydantic models for the HTTP API: camelCase out, camelCase or snake_case in."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from eventcrm.kit.text import to_snake


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
    def _reject_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.read_only:
            for key in data:
                if isinstance(key, str) and to_snake(key) in cls.read_only:
                    raise PydanticCustomError(
                        "read_only",
                        "{field} is read-only and cannot be set by a client",
                        {"field": key},
                    )
        return data


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
