"""The SQL email template and segment repositories."""

from __future__ import annotations

from eventcrm.segments.domain import Segment
from eventcrm.segments.errors import SegmentIdTaken, SegmentNameTaken
from eventcrm.storage.sql.named import SqlNamedRepository
from eventcrm.storage.sql.tables import email_templates, segments
from eventcrm.templates.domain import EmailTemplate
from eventcrm.templates.errors import TemplateIdTaken, TemplateNameTaken


class SqlTemplateRepository(SqlNamedRepository[EmailTemplate]):
    table = email_templates
    model = EmailTemplate
    id_taken = TemplateIdTaken
    name_taken = TemplateNameTaken

    async def get_by_name(self, name: str) -> EmailTemplate | None:
        return await self._one(email_templates.c.name == name)


class SqlSegmentRepository(SqlNamedRepository[Segment]):
    table = segments
    model = Segment
    id_taken = SegmentIdTaken
    name_taken = SegmentNameTaken
    optional_text = ("description",)
