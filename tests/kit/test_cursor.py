"""Signed keyset cursors: what goes in comes out, and nothing else gets in."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer

from eventcrm.errors import InvalidCursor
from eventcrm.kit.cursor import MAX_CURSOR_LENGTH, CursorCodec, KeyValue

SECRET = "cursor-test-secret-0123456789"
SORT = "last_name,-created_at"
LISTING = "users"


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec(SECRET)


def signed(payload: Any) -> str:
    """A token carrying ``payload`` with a valid signature, as only the server could make."""
    return str(URLSafeSerializer(SECRET, salt="eventcrm.cursor.v1").dumps(payload))


@pytest.mark.parametrize(
    "key",
    [
        ("lovelace", datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), "u1"),
        ("", datetime(1970, 1, 1, tzinfo=UTC), ""),
        (0, -5, 2**62),
        (None, "ünïcödé ✓", "id-with_dashes"),
        (datetime(2026, 3, 1, 14, tzinfo=timezone(timedelta(hours=2))),),
        (),
    ],
)
def test_a_key_round_trips_exactly(codec: CursorCodec, key: tuple[KeyValue, ...]) -> None:
    assert (
        codec.decode(codec.encode(listing=LISTING, sort=SORT, key=key), listing=LISTING, sort=SORT)
        == key
    )


def test_a_datetime_round_trips_with_its_offset(codec: CursorCodec) -> None:
    moment = datetime(2026, 3, 1, 14, tzinfo=timezone(timedelta(hours=-5)))
    (decoded,) = codec.decode(
        codec.encode(listing=LISTING, sort=SORT, key=(moment,)), listing=LISTING, sort=SORT
    )
    assert isinstance(decoded, datetime)
    assert decoded.utcoffset() == timedelta(hours=-5)


def test_a_datetime_and_its_iso_string_stay_distinct(codec: CursorCodec) -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    key = (moment, moment.isoformat())
    assert (
        codec.decode(codec.encode(listing=LISTING, sort=SORT, key=key), listing=LISTING, sort=SORT)
        == key
    )


def test_a_cursor_is_url_safe(codec: CursorCodec) -> None:
    token = codec.encode(
        listing=LISTING, sort=SORT, key=("a b/c?d&e", datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert all(c.isalnum() or c in "-_." for c in token)


def test_a_cursor_for_another_sort_is_rejected(codec: CursorCodec) -> None:
    token = codec.encode(listing=LISTING, sort="last_name", key=("x", "u1"))
    with pytest.raises(InvalidCursor) as caught:
        codec.decode(token, listing=LISTING, sort="-last_name")
    assert "sort" in caught.value.detail


def test_a_cursor_for_another_listing_is_rejected(codec: CursorCodec) -> None:
    token = codec.encode(listing="categories", sort="name", key=("x", "c1"))
    with pytest.raises(InvalidCursor) as caught:
        codec.decode(token, listing="segments", sort="name")
    assert "listing" in caught.value.detail


def test_a_signed_payload_without_a_listing_is_rejected(codec: CursorCodec) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(signed({"s": SORT, "k": ["x", "u1"]}), listing=LISTING, sort=SORT)


def tampered(token: str) -> list[str]:
    payload, signature = token.rsplit(".", 1)

    def other(c: str) -> str:
        return "A" if c != "A" else "B"

    return [
        f"{other(payload[0])}{payload[1:]}.{signature}",
        f"{payload[:5]}{other(payload[5])}{payload[6:]}.{signature}",
        f"{payload}.{other(signature[0])}{signature[1:]}",
        f"{payload}.",
        payload,
        f"{payload}.{signature}.{signature}",
    ]


def test_any_tampering_is_rejected(codec: CursorCodec) -> None:
    token = codec.encode(
        listing=LISTING, sort=SORT, key=("lovelace", datetime(2026, 1, 1, tzinfo=UTC), "u1")
    )
    for forged in tampered(token):
        with pytest.raises(InvalidCursor):
            codec.decode(forged, listing=LISTING, sort=SORT)


def test_a_cursor_signed_with_another_key_is_rejected(codec: CursorCodec) -> None:
    token = CursorCodec("a-different-secret-key-987654").encode(
        listing=LISTING, sort=SORT, key=("x", "u1")
    )
    with pytest.raises(InvalidCursor):
        codec.decode(token, listing=LISTING, sort=SORT)


@pytest.mark.parametrize("token", ["", "garbage", ".", "a.b.c", "🙂", "%00", "x" * 5000])
def test_garbage_is_rejected(codec: CursorCodec, token: str) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(token, listing=LISTING, sort=SORT)


def test_a_validly_signed_token_over_the_length_limit_is_rejected(codec: CursorCodec) -> None:
    # Random text, because the payload is compressed before it is encoded.
    token = codec.encode(
        listing=LISTING, sort=SORT, key=(secrets.token_urlsafe(MAX_CURSOR_LENGTH),)
    )
    assert len(token) > MAX_CURSOR_LENGTH
    with pytest.raises(InvalidCursor):
        codec.decode(token, listing=LISTING, sort=SORT)


@pytest.mark.parametrize(
    "payload",
    [
        ["not", "a", "dict"],
        {"l": LISTING, "s": SORT},
        {"l": LISTING, "s": SORT, "k": "u1"},
        {"l": LISTING, "s": SORT, "k": [True]},
        {"l": LISTING, "s": SORT, "k": [1.5]},
        {"l": LISTING, "s": SORT, "k": [["nested"]]},
        {"l": LISTING, "s": SORT, "k": [{"x": "no t"}]},
        {"l": LISTING, "s": SORT, "k": [{"t": "not a date"}]},
        {"l": LISTING, "s": SORT, "k": [{"t": 12}]},
    ],
)
def test_a_signed_payload_of_the_wrong_shape_is_rejected(codec: CursorCodec, payload: Any) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(signed(payload), listing=LISTING, sort=SORT)


def test_errors_point_at_the_cursor_in_the_query_by_default(codec: CursorCodec) -> None:
    with pytest.raises(InvalidCursor) as caught:
        codec.decode("garbage", listing=LISTING, sort=SORT)
    assert caught.value.errors[0].loc == ("query", "cursor")


def test_errors_point_where_the_caller_says_the_cursor_came_from(codec: CursorCodec) -> None:
    token = codec.encode(listing=LISTING, sort="last_name", key=("x", "u1"))
    for bad in ("garbage", token):
        with pytest.raises(InvalidCursor) as caught:
            codec.decode(bad, listing=LISTING, sort=SORT, loc=("body", "cursor"))
        assert caught.value.errors[0].loc == ("body", "cursor")
