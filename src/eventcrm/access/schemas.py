"""Request and response bodies of the API keys API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from eventcrm.access.domain import Role
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import ApiModel, AwareUtcDateTime, WriteModel

_READ_ONLY = frozenset({"prefix", "key", "created_at", "revoked_at", "last_used_at"})

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ApiKeyCreate(WriteModel):
    read_only = _READ_ONLY

    name: Name
    role: Role
    #: The contact an organizer key acts for (required for organizers, refused for others).
    user_id: Annotated[str | None, Field(pattern=ID_PATTERN)] = None
    #: When the key stops working (unset: never; revoke it instead).
    expires_at: AwareUtcDateTime | None = None


class ApiKeyRead(ApiModel):
    prefix: str
    name: str
    role: Role
    user_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    #: The whole key. It is shown this once and never stored: keep it now.
    key: str


class ApiKeyListParams(WriteModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, StringConstraints(max_length=2048)] = None
