"""Sort specifications: parsing a query string or a JSON list against an allow-list."""

from __future__ import annotations

import pytest

from eventcrm.errors import InvalidInput
from eventcrm.kit.sorting import SortKey, parse_sort, sort_signature

ALLOWED = frozenset({"last_name", "created_at", "events_hosted"})
DEFAULT = (SortKey("created_at"),)


def parse(spec: str | list[str] | None) -> tuple[SortKey, ...]:
    return parse_sort(spec, allowed=ALLOWED, default=DEFAULT)


@pytest.mark.parametrize("spec", [None, "", []])
def test_no_sort_means_the_default(spec: str | list[str] | None) -> None:
    assert parse(spec) == DEFAULT


def test_a_comma_separated_string_gives_keys_in_order() -> None:
    assert parse("last_name,-created_at") == (
        SortKey("last_name"),
        SortKey("created_at", descending=True),
    )


def test_a_list_gives_keys_in_order() -> None:
    assert parse(["-events_hosted", "last_name"]) == (
        SortKey("events_hosted", descending=True),
        SortKey("last_name"),
    )


def test_a_leading_plus_sorts_ascending() -> None:
    assert parse("+last_name") == (SortKey("last_name"),)


def test_camel_case_names_resolve_to_snake_case_fields() -> None:
    assert parse("-eventsHosted,lastName") == (
        SortKey("events_hosted", descending=True),
        SortKey("last_name"),
    )


def test_spaces_around_keys_are_ignored() -> None:
    assert parse(" last_name , -created_at ") == (
        SortKey("last_name"),
        SortKey("created_at", descending=True),
    )


@pytest.mark.parametrize(
    "spec", ["password", "last_name,password", ["id"], "-", "last_name,", "last name"]
)
def test_a_field_outside_the_allow_list_is_rejected_at_sort(spec: str | list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(spec)
    (problem,) = caught.value.errors
    assert (problem.loc, problem.type) == (("query", "sort"), "sort_field")
    assert "created_at, events_hosted, last_name" in problem.message


@pytest.mark.parametrize(
    "spec", ["last_name,last_name", "last_name,-last_name", "lastName,last_name"]
)
def test_a_field_given_twice_is_rejected(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(spec)
    assert caught.value.errors[0].loc == ("query", "sort")
    assert "twice" in caught.value.errors[0].message


def test_the_error_location_can_be_chosen() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_sort(["nope"], allowed=ALLOWED, default=DEFAULT, loc=("body", "sort"))
    assert caught.value.errors[0].loc == ("body", "sort")


def test_the_signature_spells_each_key_with_its_direction() -> None:
    keys = (SortKey("last_name"), SortKey("created_at", descending=True))
    assert sort_signature(keys) == "last_name,-created_at"


def test_the_same_fields_in_other_directions_have_other_signatures() -> None:
    assert sort_signature(parse("last_name")) != sort_signature(parse("-last_name"))


def test_spellings_of_the_same_sort_share_a_signature() -> None:
    assert sort_signature(parse("+lastName , -created_at")) == sort_signature(
        parse(["last_name", "-created_at"])
    )
