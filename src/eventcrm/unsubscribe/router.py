"""The unsubscribe link: GET from a browser, POST from a mail client (RFC 8058 one-click)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from eventcrm.api.services import UnsubscribeServiceDep
from eventcrm.kit.schemas import ApiModel

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

Token = Annotated[str, Path(min_length=1, max_length=512, description="The link's signed token.")]

_CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title></head>
<body><h1>Unsubscribe from campaign email?</h1>
<p>You will no longer receive campaign email from us. Messages about events you
registered for (confirmations, changes, cancellations) will still reach you.</p>
<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>
</body></html>
"""

_DONE_PAGE = """<!doctype html>
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
    """The link a person clicks: a page with a button that POSTs here. Changes
    nothing, so a link scanner or prefetching mail client cannot unsubscribe anyone."""
    await service.check(token=token)
    return HTMLResponse(_CONFIRM_PAGE)


@router.post("/{token}", response_model=Unsubscribed)
async def unsubscribe_one_click(
    token: Token, service: UnsubscribeServiceDep, request: Request
) -> Unsubscribed | HTMLResponse:
    """Unsubscribe: RFC 8058 one-click (``List-Unsubscribe=One-Click``, form-encoded,
    from the mail provider) or the page's button. A browser gets a page back."""
    user = await service.unsubscribe(token=token)
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_DONE_PAGE)
    return Unsubscribed(user_id=user.id, email_opt_out=user.email_opt_out)
