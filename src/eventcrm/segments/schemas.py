"""Request and response bodies of the segments API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from eventcrm.kit.filter_schema import LIMITS as FILTER_LIMITS
from eventcrm.kit.filter_schema import FilterNode, checked_by
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, WriteModel
from eventcrm.users.domain import FILTER_FIELDS

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str | None, StringConstraints(max_length=2000)]
Filter = Annotated[
    FilterNode | None,
    checked_by(FILTER_FIELDS),
    Field(
        description="A filter tree in the users filter language (as in POST /users/search); "
        f"null selects everyone. {FILTER_LIMITS}",
        examples=[
            {
                "and": [
                    {"field": "city", "op": "eq", "value": "Austin"},
                    {"field": "events_hosted", "op": "gte", "value": 2},
                ]
            }
        ],
    ),
]


class SegmentReplace(WriteModel):
    """PUT: every field."""

    read_only = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by"})

    name: Name
    description: Description = None
    filter: Filter = None


class SegmentCreate(SegmentReplace):
    read_only = frozenset({"created_at", "updated_at", "created_by", "updated_by"})

    id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None


class SegmentRead(ApiModel):
    id: str
    name: str
    description: str | None
    filter: FilterNode | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the credential's label); read-only.
    created_by: str | None = None
    updated_by: str | None = None


class SegmentListParams(WriteModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None


class SegmentUsersParams(WriteModel):
    sort: Annotated[str | None, StringConstraints(max_length=300)] = Field(
        default=None, description="As for GET /users, e.g. last_name,-created_at."
    )
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
    include_total: bool = False


class Count(ApiModel):
    count: int
