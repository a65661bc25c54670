"""Conditional reads: an ``ETag`` on a representation and ``304 Not Modified``
when the client's ``If-None-Match`` already names it (RFC 9110 §8.8.3, §13.1.2).

The tag is a digest of the exact bytes sent, so any change (a count, a
renamed category) changes it. ``Cache-Control: private, no-cache``: a browser
may keep the answer but must revalidate it, and no shared cache may store it
(what a caller sees depends on its credential).
"""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel

CACHE_CONTROL = "private, no-cache"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison: W/"x" matches "x"; "*" matches any current representation.
    candidates = (c.strip().removeprefix("W/") for c in if_none_match.split(","))
    return any(c in ("*", etag) for c in candidates)


def conditional_json(request: Request, model: BaseModel) -> Response:
    """``model`` as JSON with its ETag, or an empty 304 when the client has it."""
    body = model.model_dump_json(by_alias=True).encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
