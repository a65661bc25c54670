"""The filter language as a typed request field: validated at the edge, described in OpenAPI.

``filter_field(fields)`` is the type of a ``filter`` body field over one resource's
fields. Validation is ``kit.filters.parse_filter`` itself, run on the raw JSON
before Pydantic sees the tree, so a filter is bounded (depth, nodes, values)
before anything walks it and every problem keeps the parser's message and
exact location (``filter.and.1.value``). The typed models below then hold the
accepted tree and give the OpenAPI document its recursive shape: a node is a
condition, or an ``and`` / ``or`` / ``not`` of nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)
from pydantic_core import PydanticCustomError

from eventcrm.errors import InvalidInput
from eventcrm.kit.filters import (
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_NODES,
    MAX_TEXT_LENGTH,
    MAX_VALUES,
    FieldSpec,
    Node,
    Op,
    parse_filter,
)

#: What a condition compares with: a string (text, id, choice or ISO 8601 date-time),
#: an integer, true/false (``eq`` on a flag, ``is_null``), or a list for ``in``.
FilterValue = Annotated[
    str | int | bool | list[str] | list[int],
    Field(
        description=f"Strings at most {MAX_TEXT_LENGTH} characters; integers within the "
        f"column's 32-bit range; 'in' takes 1 to {MAX_IN_VALUES} values."
    ),
]


class _Node(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        serialize_by_alias=True,
        # One schema for requests and responses (a segment returns its filter).
        json_schema_mode_override="validation",
    )


class FilterCondition(_Node):
    """One comparison: ``{"field": "city", "op": "eq", "value": "Austin"}``."""

    field: str = Field(description="A filterable field, in camelCase or snake_case.")
    op: Op
    value: FilterValue


class FilterAnd(_Node):
    """Every node matches (an empty list matches everything)."""

    items: list[FilterNode] = Field(alias="and")


class FilterOr(_Node):
    """Some node matches (an empty list matches nothing)."""

    items: list[FilterNode] = Field(alias="or")


class FilterNot(_Node):
    """The node does not match."""

    item: FilterNode = Field(alias="not")


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        return next((key for key in ("and", "or", "not") if key in value), "condition")
    kinds: dict[type[BaseModel], str] = {FilterAnd: "and", FilterOr: "or", FilterNot: "not"}
    return kinds.get(type(value), "condition")


FilterNode = Annotated[
    Annotated[FilterCondition, Tag("condition")]
    | Annotated[FilterAnd, Tag("and")]
    | Annotated[FilterOr, Tag("or")]
    | Annotated[FilterNot, Tag("not")],
    Discriminator(_node_kind),
]

for _model in (FilterAnd, FilterOr, FilterNot):
    _model.model_rebuild()

LIMITS = (
    f"At most {MAX_DEPTH} levels deep, {MAX_NODES} nodes and {MAX_VALUES} values in all "
    f"(at most {MAX_IN_VALUES} in one 'in' list)."
)


def checked_by(fields: Mapping[str, FieldSpec]) -> BeforeValidator:
    """Validate a raw filter tree with ``parse_filter`` over ``fields``, before Pydantic
    reads it: ``Annotated[FilterNode | None, checked_by(FIELDS)]``."""

    def validate(raw: Any) -> Any:
        if isinstance(raw, _Node):  # an accepted tree handed on (it was checked)
            return raw
        try:
            parse_filter(raw, fields=fields, loc=())
        except InvalidInput as exc:
            problem = exc.errors[0]
            # ``at`` extends the field's location (see ``api.problems``).
            raise PydanticCustomError(
                problem.type, "{message}", {"message": problem.message, "at": list(problem.loc)}
            ) from None
        return raw

    return BeforeValidator(validate)


AnyFilterNode = FilterCondition | FilterAnd | FilterOr | FilterNot


def filter_json(tree: AnyFilterNode | None) -> dict[str, Any] | None:
    """The tree as JSON, as the client sent it (what is stored and what ``parse_filter`` reads)."""
    return None if tree is None else tree.model_dump(mode="json", by_alias=True)


def filter_node(tree: AnyFilterNode | None, fields: Mapping[str, FieldSpec]) -> Node | None:
    """The accepted tree in the filter language."""
    return parse_filter(filter_json(tree), fields=fields)
