"""Named things (categories, email templates, segments): an item each and a name
guard item, so an id and a name are each taken once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any, Generic, Protocol, TypeVar

from eventcrm.categories.domain import Category
from eventcrm.categories.errors import CategoryIdTaken, CategoryInUse, CategoryNameTaken
from eventcrm.kit.cursor import KeyValue
from eventcrm.segments.domain import Segment
from eventcrm.segments.errors import SegmentIdTaken, SegmentNameTaken
from eventcrm.storage.dynamodb import keys
from eventcrm.storage.dynamodb.codec import Item
from eventcrm.storage.dynamodb.listing import page
from eventcrm.storage.dynamodb.schema import GSI1
from eventcrm.storage.dynamodb.session import NOT_EXISTS, KeyCondition, Session
from eventcrm.storage.ports import KeysetPage
from eventcrm.templates.domain import EmailTemplate
from eventcrm.templates.errors import TemplateIdTaken, TemplateNameTaken

_DATETIMES = frozenset({"created_at", "updated_at"})


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


class DynamoNamedRepository(Generic[N]):
    kind: str
    model: Callable[..., N]
    id_taken: Callable[[str], Exception]
    name_taken: Callable[[str], Exception]
    optional_text: tuple[str, ...] = ()
    #: Names unique and sorted case-insensitively.
    folded_name: bool = False
    json_fields: tuple[str, ...] = ()

    def __init__(self, session: Session) -> None:
        self._s = session

    def _name_key(self, name: str) -> str:
        return name.lower() if self.folded_name else name

    def _item(self, value: N) -> Item:
        item = keys.to_item(value, datetimes=_DATETIMES)
        for name in self.json_fields:
            item[name] = json.dumps(item[name]) if item[name] is not None else None
        item["type"] = self.kind
        item["GSI1PK"], item["GSI1SK"] = self.kind, value.id
        return item

    def _value(self, item: Item) -> N:
        names = [f.name for f in fields(self.model)]  # type: ignore[arg-type]
        data: dict[str, Any] = keys.from_item(item, names, datetimes=_DATETIMES)
        for name in self.optional_text:
            data[name] = data[name] or None
        for name in self.json_fields:
            data[name] = json.loads(data[name]) if data[name] is not None else None
        return self.model(**data)

    async def _claim(self, name: str, item_id: str) -> None:
        guard = keys.name_guard(self.kind, self._name_key(name))
        if await self._s.get(guard) is not None:
            raise self.name_taken(name)
        self._s.put(guard, {"owner": item_id}, conditions=[NOT_EXISTS], error=self.name_taken(name))

    async def add(self, item: N) -> None:
        key = keys.named(self.kind, item.id)
        if await self._s.get(key) is not None:
            raise self.id_taken(item.id)
        await self._claim(item.name, item.id)
        self._s.put(key, self._item(item), conditions=[NOT_EXISTS], error=self.id_taken(item.id))

    async def get(self, item_id: str) -> N | None:
        item = await self._s.get(keys.named(self.kind, item_id))
        return self._value(item) if item else None

    async def replace(self, item: N) -> None:
        key = keys.named(self.kind, item.id)
        current = await self._s.get(key)
        if current is None:
            return
        if self._name_key(current["name"]) != self._name_key(item.name):
            await self._claim(item.name, item.id)
            self._s.delete(keys.name_guard(self.kind, self._name_key(current["name"])))
        new = self._item(item)
        sets = {n: v for n, v in new.items() if n not in ("id", "created_at", "created_by")}
        for n in current:
            if n not in new and n not in ("PK", "SK", "id", "created_at", "created_by"):
                sets[n] = None
        self._s.update(key, sets=sets)

    async def delete(self, item_id: str) -> bool:
        key = keys.named(self.kind, item_id)
        current = await self._s.get(key)
        if current is None:
            return False
        self._s.delete(key)
        self._s.delete(keys.name_guard(self.kind, self._name_key(current["name"])))
        return True

    async def _all(self, kind: str, what: str) -> list[Item]:
        return await self._s.query(
            KeyCondition("GSI1PK", kind),
            index=GSI1,
            belongs=lambda i: i.get("type") == kind,
            what=what,
        )

    async def list(self, *, limit: int, after: tuple[KeyValue, ...] | None = None) -> KeysetPage[N]:
        values = [self._value(i) for i in await self._all(self.kind, self.kind.lower())]
        return page(
            values,
            lambda v: (self._name_key(v.name), v.id),
            [False, False],
            limit=limit,
            after=after,
        )


class DynamoCategoryRepository(DynamoNamedRepository[Category]):
    kind = "CATEGORY"
    model = Category
    id_taken = CategoryIdTaken
    name_taken = CategoryNameTaken
    optional_text = ("description",)
    folded_name = True

    async def delete(self, category_id: str) -> bool:
        used = sum(
            1 for e in await self._all("EVENT", "events") if e.get("category_id") == category_id
        )
        if used:
            raise CategoryInUse(category_id, used)
        return await super().delete(category_id)


class DynamoTemplateRepository(DynamoNamedRepository[EmailTemplate]):
    kind = "TEMPLATE"
    model = EmailTemplate
    id_taken = TemplateIdTaken
    name_taken = TemplateNameTaken

    async def get_by_name(self, name: str) -> EmailTemplate | None:
        guard = await self._s.get(keys.name_guard(self.kind, name))
        return await self.get(guard["owner"]) if guard else None

    async def delete(self, template_id: str) -> bool:
        # As the SQL foreign key does (ON DELETE SET NULL): campaigns forget it.
        for c in await self._all("CAMPAIGN", "campaigns"):
            if c.get("template_id") == template_id:
                self._s.update((c["PK"], c["SK"]), sets={"template_id": None})
        return await super().delete(template_id)


class DynamoSegmentRepository(DynamoNamedRepository[Segment]):
    kind = "SEGMENT"
    model = Segment
    id_taken = SegmentIdTaken
    name_taken = SegmentNameTaken
    optional_text = ("description",)
    json_fields = ("filter",)
