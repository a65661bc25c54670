"""Sort specifications: ``last_name,-created_at`` over an allow-list of fields."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from eventcrm.errors import FieldProblem, InvalidInput
from eventcrm.kit.text import snake_name


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def parse_sort(
    spec: str | Sequence[str] | None,
    *,
    allowed: Collection[str],
    default: Sequence[SortKey],
    loc: tuple[str, ...] = ("query", "sort"),
) -> tuple[SortKey, ...]:
    """Parse a comma-separated string (query) or list (JSON body) of sort keys.

    A leading ``-`` sorts descending. Field names may be snake_case or camelCase.
    The id tie-breaker is not part of the result: storage appends it.
    """
    if spec is None or spec == "" or spec == []:
        return tuple(default)
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    keys: list[SortKey] = []
    seen: set[str] = set()
    for raw in parts:
        token = raw.strip()
        descending = token.startswith("-")
        name = snake_name(token.lstrip("-+"))
        if name not in allowed:
            raise InvalidInput(
                f"Cannot sort by {token!r}.",
                [
                    FieldProblem(
                        loc,
                        f"Unknown sort field {token!r}; allowed: {', '.join(sorted(allowed))}.",
                        "sort_field",
                    )
                ],
            )
        if name in seen:
            raise InvalidInput(
                f"Sort field {name!r} is given twice.",
                [FieldProblem(loc, f"Sort field {name!r} is given twice.", "sort_field")],
            )
        seen.add(name)
        keys.append(SortKey(name, descending))
    return tuple(keys)


def sort_signature(keys: Sequence[SortKey]) -> str:
    return ",".join(str(k) for k in keys)
