"""Date-times at the edge: ISO 8601 text only, as the OpenAPI document says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from eventcrm.kit.schemas import AwareUtcDateTime, UtcDateTime


@pytest.mark.parametrize("value", [0, 1700000000, 1.5, "0", "1700000000", "-1", "1e9", " 12 "])
@pytest.mark.parametrize("kind", [UtcDateTime, AwareUtcDateTime])
def test_a_number_is_not_read_as_unix_time(kind: Any, value: object) -> None:
    with pytest.raises(ValidationError, match="ISO 8601 date-time"):
        TypeAdapter(kind).validate_python(value)


def test_iso_8601_text_is_read_in_utc() -> None:
    expected = datetime(2030, 5, 1, 16, 0, tzinfo=UTC)
    assert TypeAdapter(UtcDateTime).validate_python("2030-05-01T18:00:00+02:00") == expected
    assert TypeAdapter(UtcDateTime).validate_python("2030-05-01T16:00:00") == expected
    assert TypeAdapter(AwareUtcDateTime).validate_json('"2030-05-01T16:00:00Z"') == expected
