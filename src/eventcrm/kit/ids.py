"""Identifiers: server ids are UUIDv7 (time-ordered, so inserts stay index-friendly)."""

from __future__ import annotations

import re
from typing import Protocol

import uuid6

#: Client-supplied ids must match this; UUIDs generated here match it too.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ID_MAX_LENGTH = 64
_ID_RE = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


class IdGenerator(Protocol):
    def __call__(self) -> str: ...


def uuid7_id() -> str:
    return str(uuid6.uuid7())
