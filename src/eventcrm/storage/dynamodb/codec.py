"""Python values to DynamoDB attribute values and back.

Date-times are stored as fixed-width UTC ISO strings (microseconds, ``Z``), so
comparing two of them as strings compares the instants: sort keys and
conditions work on them directly. Numbers are integers only. ``None`` is
never stored: the attribute is left out (GSI keys cannot be NULL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, Any]


def dt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_dt(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def opt_dt(value: datetime | None) -> str | None:
    return None if value is None else dt(value)


def opt_parse_dt(value: str | None) -> datetime | None:
    return None if value is None else parse_dt(value)


def epoch(value: datetime) -> int:
    """Seconds since the epoch: the format of DynamoDB's TTL attribute."""
    return int(value.timestamp()) + 1


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def value(v: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = _serializer.serialize(v)
    return serialized


def deserialize(raw: Mapping[str, Any]) -> Item:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v)
    if isinstance(v, Binary):
        return bytes(v.value)
    return v


def pick(item: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {n: item.get(n) for n in names}
