"""HTTP handlers of event categories."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.idempotency import IdempotentRoute
from eventcrm.api.paths import location
from eventcrm.api.services import CategoryServiceDep
from eventcrm.categories.schemas import (
    CategoryCreate,
    CategoryListParams,
    CategoryRead,
    CategoryReplace,
    CategoryUpdate,
)
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import Page

router = APIRouter(prefix="/categories", tags=["categories"], route_class=IdempotentRoute)


CategoryId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_category(
    body: CategoryCreate, service: CategoryServiceDep, request: Request, response: Response
) -> CategoryRead:
    """Create a category; 409 if the id or (case-insensitively) the name is taken."""
    category = await service.create(data=body)
    response.headers["Location"] = location(request, router, category.id)
    return CategoryRead.model_validate(category)


@router.get("")
async def list_categories(
    params: Annotated[CategoryListParams, Query()], service: CategoryServiceDep
) -> Page[CategoryRead]:
    """Categories by name."""
    result = await service.list(params=params)
    items = [CategoryRead.model_validate(c) for c in result.items]
    return Page[CategoryRead](items=items, next_cursor=result.next_cursor)


@router.get("/{category_id}")
async def get_category(category_id: CategoryId, service: CategoryServiceDep) -> CategoryRead:
    return CategoryRead.model_validate(await service.get(category_id=category_id))


@router.put("/{category_id}")
async def replace_category(
    category_id: CategoryId, body: CategoryReplace, service: CategoryServiceDep
) -> CategoryRead:
    return CategoryRead.model_validate(await service.replace(category_id=category_id, data=body))


@router.patch("/{category_id}")
async def update_category(
    category_id: CategoryId, body: CategoryUpdate, service: CategoryServiceDep
) -> CategoryRead:
    return CategoryRead.model_validate(await service.update(category_id=category_id, data=body))


@router.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: CategoryId, service: CategoryServiceDep) -> None:
    """Delete; 409 while any event (even a deleted one) still uses it."""
    await service.delete(category_id=category_id)
