"""A segment as the rest of the system sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    description: str | None
    #: A filter tree in the users filter language, as the client wrote it (None: everyone).
    filter: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
