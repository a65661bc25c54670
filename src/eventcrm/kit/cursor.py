"""Opaque, signed keyset cursors.

A cursor carries the listing it was made for (``"users"``,
``"events/<id>/participants"``), its sort, and the sort-key values of the last
row of a page (computed by the storage adapter, so comparisons use the
database's own ordering). It is signed (HMAC, via itsdangerous) so a tampered
cursor is rejected with 400 instead of silently paging from a forged position,
and a cursor handed to another listing is rejected the same way instead of
being read as a position among rows of another kind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from eventcrm.errors import InvalidCursor

#: A key value as storage returns it.
KeyValue = str | int | datetime | None
MAX_CURSOR_LENGTH = 2048


class CursorCodec:
    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="eventcrm.cursor.v1")

    def encode(self, *, listing: str, sort: str, key: tuple[KeyValue, ...]) -> str:
        payload = {"l": listing, "s": sort, "k": [_dump(v) for v in key]}
        return str(self._serializer.dumps(payload))

    def decode(
        self,
        token: str,
        *,
        listing: str,
        sort: str,
        loc: tuple[str | int, ...] = ("query", "cursor"),
    ) -> tuple[KeyValue, ...]:
        """The key values of ``token``; ``loc`` is where the client sent it, for errors."""
        if len(token) > MAX_CURSOR_LENGTH:
            raise InvalidCursor(loc=loc)
        try:
            payload = self._serializer.loads(token)
        except (BadSignature, ValueError, UnicodeDecodeError):
            raise InvalidCursor(loc=loc) from None
        if not isinstance(payload, dict):
            raise InvalidCursor(loc=loc)
        if payload.get("l") != listing:
            raise InvalidCursor(
                "The cursor was made for another listing; start again without a cursor.",
                loc=loc,
            )
        if payload.get("s") != sort:
            raise InvalidCursor(
                "The cursor was made for a different sort; start again without a cursor.",
                loc=loc,
            )
        values = payload.get("k")
        if not isinstance(values, list):
            raise InvalidCursor(loc=loc)
        try:
            return tuple(_load(v) for v in values)
        except (TypeError, ValueError, KeyError):
            raise InvalidCursor(loc=loc) from None


def _dump(value: KeyValue) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _load(value: Any) -> KeyValue:
    if isinstance(value, dict):
        return datetime.fromisoformat(value["t"])
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"unexpected cursor value {value!r}")
