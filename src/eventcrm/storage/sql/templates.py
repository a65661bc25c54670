"""The SQL email template and segment repositories."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from eventcrm.kit.cursor import KeyValue
from eventcrm.kit.sorting import SortKey
from eventcrm.segments.domain import Segment
from eventcrm.segments.errors import SegmentIdTaken, SegmentNameTaken
from eventcrm.storage.ports import KeysetPage
from eventcrm.storage.sql.query import FieldMap, after_key, order_by, sort_columns
from eventcrm.storage.sql.tables import email_templates, segments
from eventcrm.templates.domain import EmailTemplate
from eventcrm.templates.errors import TemplateIdTaken, TemplateNameTaken

_BY_NAME = (SortKey("name"),)


async def _page(
    conn: AsyncConnection, table: sa.Table, limit: int, after: tuple[KeyValue, ...] | None
) -> tuple[list[sa.Row[Any]], tuple[KeyValue, ...] | None]:
    keys = sort_columns(_BY_NAME, FieldMap(columns={"name": table.c.name, "id": table.c.id}))
    query = sa.select(table).order_by(*order_by(keys)).limit(limit + 1)
    if after is not None:
        query = query.where(after_key(keys, after))
    rows = list((await conn.execute(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].name, rows[-1].id) if more else None)


def _to_template(row: sa.Row[Any]) -> EmailTemplate:
    return EmailTemplate(**{c.name: getattr(row, c.name) for c in email_templates.columns})


class SqlTemplateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, template: EmailTemplate) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(email_templates.insert().values(_row(template)))
        except IntegrityError:
            if await self.get(template.id) is not None:
                raise TemplateIdTaken(template.id) from None
            raise TemplateNameTaken(template.name) from None

    async def get(self, template_id: str) -> EmailTemplate | None:
        query = email_templates.select().where(email_templates.c.id == template_id)
        row = (await self._conn.execute(query)).first()
        return _to_template(row) if row else None

    async def get_by_name(self, name: str) -> EmailTemplate | None:
        query = email_templates.select().where(email_templates.c.name == name)
        row = (await self._conn.execute(query)).first()
        return _to_template(row) if row else None

    async def replace(self, template: EmailTemplate) -> None:
        row = _row(template)
        del row["id"], row["created_at"]
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    email_templates.update().where(email_templates.c.id == template.id).values(row)
                )
        except IntegrityError:
            raise TemplateNameTaken(template.name) from None

    async def delete(self, template_id: str) -> bool:
        result = await self._conn.execute(
            email_templates.delete().where(email_templates.c.id == template_id)
        )
        return result.rowcount > 0

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[EmailTemplate]:
        rows, next_key = await _page(self._conn, email_templates, limit, after)
        return KeysetPage([_to_template(r) for r in rows], next_key)


def _row(value: EmailTemplate | Segment) -> dict[str, Any]:
    table = email_templates if isinstance(value, EmailTemplate) else segments
    return {c.name: getattr(value, c.name) for c in table.columns}


def _to_segment(row: sa.Row[Any]) -> Segment:
    data = {c.name: getattr(row, c.name) for c in segments.columns}
    data["description"] = data["description"] or None
    return Segment(**data)


class SqlSegmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, segment: Segment) -> None:
        row = _row(segment)
        row["description"] = row["description"] or ""
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(segments.insert().values(row))
        except IntegrityError:
            if await self.get(segment.id) is not None:
                raise SegmentIdTaken(segment.id) from None
            raise SegmentNameTaken(segment.name) from None

    async def get(self, segment_id: str) -> Segment | None:
        row = (
            await self._conn.execute(segments.select().where(segments.c.id == segment_id))
        ).first()
        return _to_segment(row) if row else None

    async def replace(self, segment: Segment) -> None:
        row = _row(segment)
        row["description"] = row["description"] or ""
        del row["id"], row["created_at"]
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    segments.update().where(segments.c.id == segment.id).values(row)
                )
        except IntegrityError:
            raise SegmentNameTaken(segment.name) from None

    async def delete(self, segment_id: str) -> bool:
        result = await self._conn.execute(segments.delete().where(segments.c.id == segment_id))
        return result.rowcount > 0

    async def list(
        self, *, limit: int, after: tuple[KeyValue, ...] | None = None
    ) -> KeysetPage[Segment]:
        rows, next_key = await _page(self._conn, segments, limit, after)
        return KeysetPage([_to_segment(r) for r in rows], next_key)
