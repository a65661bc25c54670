"""The filter language parser: what it accepts, and where it says the problem is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventcrm.errors import InvalidInput
from eventcrm.kit.filters import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_NODES,
    MAX_TEXT_LENGTH,
    MAX_VALUES,
    And,
    Condition,
    FieldSpec,
    FieldType,
    Node,
    Not,
    Op,
    Or,
    all_of,
    parse_filter,
)

FIELDS = {
    spec.name: spec
    for spec in (
        FieldSpec("name", FieldType.TEXT),
        FieldSpec("nickname", FieldType.TEXT, nullable=True),
        FieldSpec("visits", FieldType.INT),
        FieldSpec("seen_at", FieldType.DATETIME),
        FieldSpec("deleted_at", FieldType.DATETIME, nullable=True),
    )
}
FILTER = ("body", "filter")
MOMENT = "2026-03-01T12:00:00+00:00"

# The value each op takes, per field type, when the op is allowed.
GOOD_VALUES: dict[str, Any] = {"name": "Ada", "visits": 3, "seen_at": MOMENT}
SAMPLE_FIELD = {"text": "name", "int": "visits", "datetime": "seen_at"}

# Written out by hand (not read from the module) so a change to the rules fails here.
ALLOWED = {
    "text": {"eq", "ne", "in", "contains", "starts_with"},
    "int": {"eq", "ne", "in", "gt", "gte", "lt", "lte"},
    "datetime": {"eq", "ne", "gt", "gte", "lt", "lte"},
}


def parse(raw: Any) -> Node | None:
    return parse_filter(raw, fields=FIELDS)


def rejection(raw: Any) -> tuple[tuple[str | int, ...], str]:
    """The location and kind of the one problem parse reports."""
    with pytest.raises(InvalidInput) as caught:
        parse(raw)
    (problem,) = caught.value.errors
    assert problem.message
    return problem.loc, problem.type


def leaf(field: str = "name", op: str = "eq", value: Any = "Ada") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def good_value(field: str, op: str) -> Any:
    if op == "is_null":
        return True
    value = GOOD_VALUES[field]
    return [value] if op == "in" else value


def parsed_value(field: str, op: str) -> Any:
    if op == "is_null":
        return True
    value = datetime.fromisoformat(MOMENT) if field == "seen_at" else GOOD_VALUES[field]
    return (value,) if op == "in" else value


# --- which op goes with which type -------------------------------------------------------

ACCEPTED = [(t, op) for t, ops in ALLOWED.items() for op in sorted(ops)]
REJECTED = [(t, op.value) for t in ALLOWED for op in Op if op.value not in ALLOWED[t]]


@pytest.mark.parametrize(("field_type", "op"), ACCEPTED)
def test_an_allowed_op_parses_to_a_condition(field_type: str, op: str) -> None:
    field = SAMPLE_FIELD[field_type]
    node = parse(leaf(field, op, good_value(field, op)))
    assert node == Condition(field, Op(op), parsed_value(field, op))


@pytest.mark.parametrize(("field_type", "op"), REJECTED)
def test_an_op_the_type_does_not_allow_is_rejected_at_op(field_type: str, op: str) -> None:
    field = SAMPLE_FIELD[field_type]
    assert rejection(leaf(field, op, good_value(field, op))) == ((*FILTER, "op"), "filter_op")


@pytest.mark.parametrize("field", ["nickname", "deleted_at"])
@pytest.mark.parametrize("value", [True, False])
def test_is_null_is_allowed_on_nullable_fields(field: str, value: bool) -> None:
    assert parse(leaf(field, "is_null", value)) == Condition(field, Op.IS_NULL, value)


@pytest.mark.parametrize("op", ["contains", "starts_with", "in", "ne"])
def test_a_nullable_text_field_takes_every_text_op(op: str) -> None:
    node = parse(leaf("nickname", op, good_value("name", op)))
    assert node == Condition("nickname", Op(op), parsed_value("name", op))


@pytest.mark.parametrize("op", ["like", "EQ", "between", "", None, 1, ["eq"]])
def test_an_unknown_op_is_rejected_at_op(op: Any) -> None:
    assert rejection(leaf("name", op, "x")) == ((*FILTER, "op"), "filter_op")


def test_a_missing_op_is_rejected_at_op() -> None:
    assert rejection({"field": "name", "value": "x"}) == ((*FILTER, "op"), "filter_op")


@pytest.mark.parametrize("field", ["password", "", "Name Field", 7, None, ["name"]])
def test_an_unknown_field_is_rejected_at_field(field: Any) -> None:
    assert rejection(leaf(field)) == ((*FILTER, "field"), "filter_field")


def test_the_unknown_field_message_lists_the_allowed_fields() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(leaf("password"))
    assert "nickname" in caught.value.errors[0].message


def test_camel_case_field_names_resolve_to_the_snake_case_field() -> None:
    assert parse(leaf("seenAt", "gt", MOMENT)) == Condition(
        "seen_at", Op.GT, datetime.fromisoformat(MOMENT)
    )


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "op", "value", "where"),
    [
        ("name", "eq", 1, ()),
        ("name", "eq", None, ()),
        ("name", "contains", ["Ada"], ()),
        ("name", "in", ["Ada", 2], (1,)),
        ("name", "in", "Ada", ()),
        ("name", "in", [], ()),
        ("visits", "eq", "3", ()),
        ("visits", "gt", 2.5, ()),
        ("visits", "lt", True, ()),
        ("visits", "in", [1, "2"], (1,)),
        ("visits", "eq", 2**31, ()),
        ("visits", "eq", -(2**31) - 1, ()),
        ("visits", "gte", 2**63, ()),
        ("visits", "in", [1, 2**31], (1,)),
        ("name", "eq", "\ud800", ()),
        ("name", "in", ["Ada", "x\udfff"], (1,)),
        ("seen_at", "gt", 1767225600, ()),
        ("seen_at", "gt", "yesterday", ()),
        ("seen_at", "lt", "2026-02-30T00:00:00Z", ()),
        ("nickname", "is_null", "true", ()),
        ("nickname", "is_null", 1, ()),
        ("deleted_at", "is_null", None, ()),
    ],
)
def test_a_value_of_the_wrong_type_is_rejected_at_value(
    field: str, op: str, value: Any, where: tuple[int, ...]
) -> None:
    assert rejection(leaf(field, op, value)) == ((*FILTER, "value", *where), "filter")


def test_a_condition_without_a_value_is_rejected_at_value() -> None:
    assert rejection({"field": "name", "op": "eq"}) == ((*FILTER, "value"), "filter")


def test_text_up_to_the_length_limit_is_accepted() -> None:
    value = "x" * MAX_TEXT_LENGTH
    assert parse(leaf(value=value)) == Condition("name", Op.EQ, value)


def test_text_over_the_length_limit_is_rejected() -> None:
    assert rejection(leaf(value="x" * (MAX_TEXT_LENGTH + 1))) == ((*FILTER, "value"), "filter")


def test_in_takes_up_to_the_value_limit() -> None:
    node = parse(leaf("visits", "in", list(range(MAX_IN_VALUES))))
    assert isinstance(node, Condition)
    assert len(node.value) == MAX_IN_VALUES
    assert rejection(leaf("visits", "in", list(range(MAX_IN_VALUES + 1))))[0] == (
        *FILTER,
        "value",
    )


def test_integers_just_inside_the_range_are_accepted() -> None:
    assert parse(leaf("visits", "eq", INT_MAX)) == Condition("visits", Op.EQ, INT_MAX)
    assert parse(leaf("visits", "eq", INT_MIN)) == Condition("visits", Op.EQ, INT_MIN)


def test_in_lists_count_towards_one_limit_on_the_values_of_a_tree() -> None:
    full = leaf("visits", "in", list(range(MAX_IN_VALUES)))
    lists = MAX_VALUES // MAX_IN_VALUES
    assert parse({"or": [full] * lists}) is not None
    assert rejection({"or": [*[full] * lists, leaf("visits", "eq", 1)]}) == (
        (*FILTER, "or", lists, "value"),
        "filter",
    )


def test_a_lone_surrogate_is_rejected_and_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(leaf(value="\ud800"))
    assert "surrogate" in caught.value.errors[0].message


def test_a_date_time_without_an_offset_is_read_as_utc() -> None:
    node = parse(leaf("seen_at", "gte", "2026-03-01T12:00:00"))
    assert node == Condition("seen_at", Op.GTE, datetime(2026, 3, 1, 12, tzinfo=UTC))


def test_a_date_time_with_an_offset_becomes_the_same_instant_in_utc() -> None:
    node = parse(leaf("seen_at", "lt", "2026-03-01T14:00:00+02:00"))
    assert isinstance(node, Condition)
    assert node.value == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert node.value.utcoffset() == timedelta(0)


def test_a_date_time_out_of_range_in_utc_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse(leaf("seen_at", "lt", "0001-01-01T00:00:00+02:00"))


def test_a_bare_date_is_midnight_utc() -> None:
    node = parse(leaf("seen_at", "gte", "2026-03-01"))
    assert node == Condition("seen_at", Op.GTE, datetime(2026, 3, 1, tzinfo=UTC))


# --- the tree ----------------------------------------------------------------------------


def test_no_filter_parses_to_none() -> None:
    assert parse(None) is None


def test_and_or_not_nest_into_the_matching_nodes() -> None:
    raw = {
        "and": [
            leaf("name", "eq", "Ada"),
            {"or": [leaf("visits", "gt", 1), {"not": leaf("nickname", "is_null", True)}]},
        ]
    }
    assert parse(raw) == And(
        (
            Condition("name", Op.EQ, "Ada"),
            Or(
                (
                    Condition("visits", Op.GT, 1),
                    Not(Condition("nickname", Op.IS_NULL, True)),
                )
            ),
        )
    )


def test_empty_and_and_or_are_allowed() -> None:
    assert parse({"and": []}) == And(())
    assert parse({"or": []}) == Or(())


def test_a_problem_deep_in_the_tree_is_located_by_its_path() -> None:
    raw = {"and": [leaf(), {"or": [leaf(), {"not": leaf("visits", "eq", "many")}]}]}
    assert rejection(raw) == ((*FILTER, "and", 1, "or", 1, "not", "value"), "filter")


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ("name = 'Ada'", ()),
        ([leaf()], ()),
        ({"and": leaf()}, ("and",)),
        ({"or": "name"}, ("or",)),
        ({"and": [leaf(), "name"]}, ("and", 1)),
        ({"not": [leaf()]}, ("not",)),
        ({"xor": [leaf()]}, ()),
        ({"and": [], "or": []}, ()),
        ({"and": [], "field": "name", "op": "eq", "value": "x"}, ()),
        ({**leaf(), "negate": True}, ()),
        ({}, ()),
    ],
)
def test_a_malformed_node_is_rejected_where_it_is(raw: Any, where: tuple[str | int, ...]) -> None:
    assert rejection(raw) == ((*FILTER, *where), "filter")


def nested_nots(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = leaf()
    for _ in range(levels - 1):
        node = {"not": node}
    return node


def test_nesting_up_to_the_depth_limit_is_accepted() -> None:
    assert parse(nested_nots(MAX_DEPTH)) is not None


def test_nesting_past_the_depth_limit_is_rejected_at_the_deepest_node() -> None:
    loc, kind = rejection(nested_nots(MAX_DEPTH + 1))
    assert loc == (*FILTER, *(["not"] * MAX_DEPTH))
    assert kind == "filter"


def test_up_to_the_node_limit_is_accepted() -> None:
    assert parse({"or": [leaf()] * (MAX_NODES - 1)}) is not None


def test_past_the_node_limit_is_rejected() -> None:
    assert rejection({"or": [leaf()] * MAX_NODES}) == ((*FILTER, "or", MAX_NODES - 1), "filter")


def test_the_error_location_prefix_can_be_chosen() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filter(leaf("password"), fields=FIELDS, loc=("body", "audience"))
    assert caught.value.errors[0].loc == ("body", "audience", "field")


# --- all_of ------------------------------------------------------------------------------


def test_all_of_nothing_is_none() -> None:
    assert all_of() is None
    assert all_of(None, None) is None


def test_all_of_one_node_is_that_node() -> None:
    node = Condition("name", Op.EQ, "Ada")
    assert all_of(None, node, None) == node


def test_all_of_several_nodes_ands_them_in_order() -> None:
    a, b = Condition("name", Op.EQ, "Ada"), Condition("visits", Op.GT, 1)
    assert all_of(a, None, b) == And((a, b))
