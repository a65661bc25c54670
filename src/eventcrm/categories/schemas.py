"""Request and response bodies of the categories API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, WriteModel

_READ_ONLY = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by"})

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[
    str | None, StringConstraints(max_length=2000), AfterValidator(lambda v: v or None)
]


class CategoryReplace(WriteModel):
    read_only = _READ_ONLY

    name: Name
    description: Description = None


class CategoryCreate(CategoryReplace):
    read_only = _READ_ONLY - {"id"}

    id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None


class CategoryUpdate(WriteModel):
    read_only = _READ_ONLY

    name: Name | None = None
    description: Description = None


class CategoryRead(ApiModel):
    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


class CategoryListParams(WriteModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
