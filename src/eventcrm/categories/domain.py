"""A category groups events (a conference, a meetup, a workshop, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    #: Who created it and who last changed it (the acting credential's label).
    created_by: str | None = None
    updated_by: str | None = None
