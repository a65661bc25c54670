"""Which events a write transaction changed, worked out from the statements it runs.

A write unit of work carries a ``ChangeRecorder`` in its connection's execution
options; ``record_changes`` (a ``before_cursor_execute`` listener on the
engine) sees every statement sent to the database, whichever repository or
feature built it, and notes what it may change in an event read:

- a write to ``events`` or ``registrations`` (hosts, counts): the event ids
  its parameters name (``events.id`` / ``registrations.event_id`` set by an
  INSERT, or required equal by an UPDATE/DELETE's ``WHERE``);
- any such write it cannot attribute (an ``INSERT … SELECT``, a ``WHERE``
  without the id), any write in raw SQL or in a data-modifying CTE, a
  write to ``categories`` (a renamed category is shown on its events), a
  deleted user (cascades to registrations, clears ``owner_id``): every event.

Erring on the side of "every event" costs cache hits, never correctness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.sql import operators
from sqlalchemy.sql.dml import Delete, Insert, Update, UpdateBase
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from eventcrm.storage.ports import EventChanges
from eventcrm.storage.sql.tables import categories, events, registrations, users

#: Execution option under which a write unit of work's recorder travels.
CHANGES_OPTION = "eventcrm_changes"

#: Per table, the column holding the event id of a changed row.
_EVENT_ID = {events.name: events.c.id, registrations.name: registrations.c.event_id}
#: A write somewhere in SQL the listener did not get as a Core INSERT/UPDATE/
#: DELETE: raw SQL (``text()``, ``exec_driver_sql``), a data-modifying CTE.
#: (``SELECT … FOR UPDATE`` does not match: no ``SET`` follows.)
_WRITE_SQL = re.compile(
    r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET|MERGE\s+INTO|TRUNCATE|REPLACE\s+INTO)\b",
    re.IGNORECASE,
)


@dataclass
class ChangeRecorder:
    event_ids: set[str] = field(default_factory=set)
    all_events: bool = False

    @property
    def changed(self) -> bool:
        return self.all_events or bool(self.event_ids)

    def reset(self) -> None:
        self.event_ids.clear()
        self.all_events = False

    def result(self) -> EventChanges:
        return EventChanges(frozenset(self.event_ids), all_events=self.all_events)


def record_changes(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    recorder = conn.get_execution_options().get(CHANGES_OPTION)
    if recorder is None or recorder.all_events:
        return  # a read, or already "everything"
    compiled = getattr(context, "compiled", None)
    dml = getattr(compiled, "statement", None)
    if not isinstance(dml, UpdateBase):
        if _WRITE_SQL.search(statement):
            recorder.all_events = True  # it may write anything
        return
    table = getattr(dml, "table", None)
    name = getattr(table, "name", None)
    if name == categories.name and not isinstance(dml, Insert):
        recorder.all_events = True  # a new category is on no event yet
    elif name == users.name and isinstance(dml, Delete):
        recorder.all_events = True
    elif name in _EVENT_ID:
        assert context is not None
        assert compiled is not None
        rows: list[dict[str, Any]] = getattr(context, "compiled_parameters", None) or [{}]
        ids = _event_ids(dml, _EVENT_ID[name], compiled, rows)
        if ids is None:
            recorder.all_events = True
        else:
            recorder.event_ids.update(ids)


def _event_ids(
    dml: UpdateBase, column: sa.Column[Any], compiled: Any, rows: list[dict[str, Any]]
) -> set[str] | None:
    """The event ids ``dml`` writes, or None when its parameters do not say."""
    if isinstance(dml, Insert):
        if dml.select is not None:
            return None
        pattern = re.compile(rf"{re.escape(column.key)}(_m\d+)?")  # _m0…: multi-row VALUES
        inserted = {str(v) for row in rows for k, v in row.items() if pattern.fullmatch(k)}
        return inserted or None
    if isinstance(dml, Update | Delete):
        bind = _required_equal(dml.whereclause, column)
        if bind is None:
            return None
        key = compiled.bind_names.get(bind)
        ids: set[str] = set()
        for row in rows:
            value = row.get(key, bind.value) if key is not None else bind.value
            if isinstance(value, list | tuple | set | frozenset):  # IN (expanding)
                ids.update(str(v) for v in value)
            elif value is None:
                return None
            else:
                ids.add(str(value))
        return ids
    return None


def _required_equal(where: Any, column: sa.Column[Any]) -> BindParameter[Any] | None:
    """The parameter ``column`` must equal (or be IN) for a row to match
    ``where``: the condition itself, or one term of a top-level AND."""
    terms = (
        where.clauses
        if isinstance(where, BooleanClauseList) and where.operator is operators.and_
        else [where]
    )
    for term in terms:
        if (
            isinstance(term, BinaryExpression)
            and term.operator in (operators.eq, operators.in_op)
            and isinstance(term.right, BindParameter)
            and isinstance(term.left, sa.Column)
            and term.left.table is column.table
            and term.left.key == column.key
        ):
            return term.right
    return None


def listen(engine: sa.Engine) -> None:
    if not sa.event.contains(engine, "before_cursor_execute", record_changes):
        sa.event.listen(engine, "before_cursor_execute", record_changes)
