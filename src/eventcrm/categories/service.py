"""Use cases of event categories."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eventcrm.access.domain import Actor
from eventcrm.access.policy import require_admin
from eventcrm.categories.domain import Category
from eventcrm.categories.errors import CategoryNotFound
from eventcrm.categories.schemas import (
    CategoryCreate,
    CategoryListParams,
    CategoryReplace,
    CategoryUpdate,
)
from eventcrm.errors import FieldProblem, InvalidInput
from eventcrm.kit.clock import Clock
from eventcrm.kit.cursor import CursorCodec
from eventcrm.kit.ids import IdGenerator
from eventcrm.kit.pagination import ListResult, page_in_order
from eventcrm.kit.sorting import SortKey
from eventcrm.storage.ports import UnitOfWork

_SORT = (SortKey("name"),)


class CategoryService:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        clock: Clock,
        new_id: IdGenerator,
        cursors: CursorCodec,
        actor: Actor,
    ) -> None:
        self._actor = actor
        self._uow = uow
        self._clock = clock
        self._new_id = new_id
        self._cursors = cursors

    async def create(self, *, data: CategoryCreate) -> Category:
        require_admin(self._actor, "create categories")
        now = self._clock.now()
        category = Category(
            id=data.id or self._new_id(),
            name=data.name,
            description=data.description,
            created_at=now,
            updated_at=now,
            created_by=self._actor.label,
            updated_by=self._actor.label,
        )
        await self._uow.categories.add(category)
        return category

    async def get(self, *, category_id: str) -> Category:
        category = await self._uow.categories.get(category_id)
        if category is None:
            raise CategoryNotFound(category_id)
        return category

    async def replace(self, *, category_id: str, data: CategoryReplace) -> Category:
        return await self._write(category_id, data.model_dump(by_alias=False))

    async def update(self, *, category_id: str, data: CategoryUpdate) -> Category:
        require_admin(self._actor, "change categories")
        changes = data.model_dump(include=data.model_fields_set, by_alias=False)
        if "name" in changes and changes["name"] is None:
            raise InvalidInput(
                "name cannot be null", [FieldProblem(("body", "name"), "name cannot be null")]
            )
        return await self._write(category_id, changes)

    async def delete(self, *, category_id: str) -> None:
        require_admin(self._actor, "delete categories")
        if not await self._uow.categories.delete(category_id):
            raise CategoryNotFound(category_id)

    async def list(self, *, params: CategoryListParams) -> ListResult[Category]:
        repo = self._uow.categories
        return await page_in_order(
            lambda limit, after: repo.list(limit=limit, after=after),
            cursors=self._cursors,
            listing="categories",
            sort=_SORT,
            limit=params.limit,
            cursor=params.cursor,
        )

    async def _write(self, category_id: str, changes: dict[str, Any]) -> Category:
        require_admin(self._actor, "change categories")
        current = await self.get(category_id=category_id)
        updated = replace(
            current, **changes, updated_at=self._clock.now(), updated_by=self._actor.label
        )
        await self._uow.categories.replace(updated)
        return updated
