from __future__ import annotations

import pytest

from eventcrm.kit.text import snake_name


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ("job_title", "job_title"),
        ("jobTitle", "job_title"),
        ("JobTitle", "job_title"),
        ("EVENTS_HOSTED", "events_hosted"),
    ],
)
def test_a_field_is_found_from_either_spelling(sent: str, field: str) -> None:
    assert snake_name(sent) == field


def test_kebab_case_names_no_field() -> None:
    assert snake_name("job-title") == "job-title"


def test_a_name_longer_than_any_field_is_left_as_sent() -> None:
    # A long run of capitals would cost the converter quadratic time.
    name = "A" * 10_000
    assert snake_name(name) == name
