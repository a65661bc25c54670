"""HTTP handlers of email templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from eventcrm.api.idempotency import IdempotentRoute, no_idempotency_key
from eventcrm.api.paths import location
from eventcrm.api.services import TemplateServiceDep
from eventcrm.kit.ids import ID_PATTERN
from eventcrm.kit.schemas import Page
from eventcrm.templates.schemas import (
    RenderedMessage,
    TemplateCreate,
    TemplateListParams,
    TemplatePreviewRequest,
    TemplateRead,
    TemplateReplace,
)

router = APIRouter(prefix="/email-templates", tags=["email templates"], route_class=IdempotentRoute)


TemplateId = Annotated[str, Path(pattern=ID_PATTERN, description="The template's id.")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_template(
    body: TemplateCreate, service: TemplateServiceDep, request: Request, response: Response
) -> TemplateRead:
    """Create a template; a syntax error in any part is a 422 naming the part and line."""
    template = await service.create(data=body)
    response.headers["Location"] = location(request, router, template.id)
    return TemplateRead.model_validate(template)


@router.get("")
async def list_templates(
    params: Annotated[TemplateListParams, Query()], service: TemplateServiceDep
) -> Page[TemplateRead]:
    result = await service.list(limit=params.limit, cursor=params.cursor)
    return Page[TemplateRead](
        items=[TemplateRead.model_validate(t) for t in result.items],
        next_cursor=result.next_cursor,
    )


@router.get("/{template_id}")
async def get_template(template_id: TemplateId, service: TemplateServiceDep) -> TemplateRead:
    return TemplateRead.model_validate(await service.get(template_id=template_id))


@router.put("/{template_id}")
async def replace_template(
    template_id: TemplateId, body: TemplateReplace, service: TemplateServiceDep
) -> TemplateRead:
    return TemplateRead.model_validate(await service.replace(template_id=template_id, data=body))


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: TemplateId, service: TemplateServiceDep) -> None:
    """409 while a draft campaign uses it (sent campaigns keep their own copy)."""
    await service.delete(template_id=template_id)


@router.post("/{template_id}/preview")
@no_idempotency_key
async def preview_template(
    template_id: TemplateId, body: TemplatePreviewRequest, service: TemplateServiceDep
) -> RenderedMessage:
    """Render the template for one contact (and an event), exactly as the worker would."""
    rendered = await service.preview(
        template_id=template_id, user_id=body.user_id, event_id=body.event_id
    )
    return RenderedMessage(subject=rendered.subject, html=rendered.html, text=rendered.text)
