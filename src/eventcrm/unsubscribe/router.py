"""The unsubscribe link: GET from a browser, POST from a mail client (RFC 8058 one-click)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from eventcrm.api.services import UnsubscribeServiceDep
from eventcrm.kit.schemas import ApiModel

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

Token = Annotated[str, Path(min_length=1, max_length=512, description="The link's signed token.")]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body><h1>You are unsubscribed</h1>
<p>You will no longer receive campaign email from us. Messages about events you
registered for (confirmations, changes, cancellations) will still reach you.</p>
</body></html>
"""


class Unsubscribed(ApiModel):
    user_id: str
    email_opt_out: bool


@router.get("/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: Token, service: UnsubscribeServiceDep) -> HTMLResponse:
    """The link a person clicks: unsubscribes and shows a confirmation page."""
    await service.unsubscribe(token=token)
    return HTMLResponse(_PAGE)


@router.post("/{token}")
async def unsubscribe_one_click(token: Token, service: UnsubscribeServiceDep) -> Unsubscribed:
    """One-click unsubscribe (``List-Unsubscribe-Post: List-Unsubscribe=One-Click``)."""
    user = await service.unsubscribe(token=token)
    return Unsubscribed(user_id=user.id, email_opt_out=user.email_opt_out)
