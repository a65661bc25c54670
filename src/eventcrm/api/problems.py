"""The one mapping from errors to RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from eventcrm.errors import (
    Busy,
    Conflict,
    DomainError,
    FieldProblem,
    Forbidden,
    InvalidCursor,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from eventcrm.kit.schemas import MAX_JSON_DEPTH, names_a_client_may_send

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:eventcrm:problem:"

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (LimitExceeded, 429),
    (Busy, 503),
    (Unavailable, 503),
    (InvalidCursor, 400),
    (InvalidInput, 422),
)

#: Seconds a client should wait before retrying (RFC 9110 §10.2.3): a collision
#: clears at once; a database outage takes longer.
_RETRY_AFTER: tuple[tuple[type[DomainError], int], ...] = ((Busy, 1), (Unavailable, 5))


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["requestId"] = request_id
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_error(loc: tuple[str | int, ...], message: str, kind: str) -> dict[str, Any]:
    field = ".".join(str(part) for part in loc[1:]) if len(loc) > 1 else str(loc[0]) if loc else ""
    return {"field": field, "location": list(loc), "message": message, "type": kind}


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((s for cls, s in _STATUS_BY_ERROR if isinstance(exc, cls)), 400)
    errors = None
    if isinstance(exc, InvalidInput):
        body = (
            await _json_body(request) if any(p.loc[:1] == ("body",) for p in exc.errors) else None
        )
        errors = [_field_error(_sent_loc(p.loc, body), p.message, p.type) for p in exc.errors]
    return problem(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=errors,
        headers=_headers(exc),
    )


def _headers(exc: DomainError) -> dict[str, str] | None:
    if isinstance(exc, Unauthenticated):
        # RFC 6750 §3: a 401 names the scheme the client should use.
        return {"WWW-Authenticate": 'Bearer realm="eventcrm"'}
    if isinstance(exc, LimitExceeded):
        return {"Retry-After": str(exc.retry_after)}
    return next(({"Retry-After": str(s)} for cls, s in _RETRY_AFTER if isinstance(exc, cls)), None)


#: A field's own name; anything else in a location (a key the client made up) is
#: echoed as sent.
_SNAKE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def _camel_loc(loc: tuple[Any, ...], body: Any = None) -> tuple[str | int, ...]:
    # Body fields are named as clients write them (camelCase); query params stay snake_case.
    if loc and loc[0] == "body":
        parts = [_camel(p) if isinstance(p, str) else p for p in loc[1:]]
        if parts and isinstance(parts[0], str) and isinstance(body, dict):
            parts[0] = _as_sent(parts[0], body)
        return ("body", *parts)
    return tuple(loc)


def _as_sent(field: str, body: dict[Any, Any]) -> str:
    """The name the client used for a top-level field (snake_case, or an alias such as
    ``location``), so the error names what the client wrote (docs/errors.md)."""
    if field in body:
        return field
    return next((name for name in names_a_client_may_send(field) if name in body), field)


def _sent_loc(loc: tuple[str | int, ...], body: Any) -> tuple[str | int, ...]:
    """A service's location of a body field, with the field named as the client sent it."""
    if len(loc) > 1 and loc[0] == "body" and isinstance(loc[1], str) and isinstance(body, dict):
        return ("body", _as_sent(loc[1], body), *loc[2:])
    return loc


async def _json_body(request: Request) -> Any:
    """The JSON body the route was sent (read once by FastAPI and kept on the
    request), so a service's error about a body field can name it as sent."""
    try:
        return await request.json()
    except (ValueError, RuntimeError, ClientDisconnect):
        return None


def _camel(part: str) -> str:
    return to_camel(part) if _SNAKE_NAME.fullmatch(part) else part


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems: list[FieldProblem] = []
    malformed = False
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = str(err.get("type", "value_error"))
        message = str(err.get("msg", "Invalid value"))
        if kind == "json_invalid":
            malformed = True
            # Pydantic locates a syntax error by character offset; the bad "field" is the body.
            if len(loc) > 1:
                message = f"{message} at character {loc[1]}"
            loc = ("body",)
        if kind in (
            "read_only",
            "nul_character",
            "invalid_unicode",
            "json_too_deep",
            "alias_conflict",
            "calendar_day",
            "whole_name",
            "one_person",
            "details_without_email",
        ):
            # Raised for the whole body; the context names the field.
            loc = (*loc, *str(err.get("ctx", {}).get("field", "")).split("."))
        at = err.get("ctx", {}).get("at")
        if isinstance(at, list):
            # A validator of a whole tree (a filter) locates the problem inside it.
            loc = (*loc, *at)
        if kind == "extra_forbidden":
            message = f"Unknown field {loc[-1]!r}."
        problems.append(
            FieldProblem(_camel_loc(loc, exc.body), message.removeprefix("Value error, "), kind)
        )
    errors = [_field_error(p.loc, p.message, p.type) for p in problems]
    if malformed:
        return problem(
            request,
            status=400,
            code="malformed_json",
            title="Malformed JSON",
            detail="The request body is not valid JSON.",
            errors=errors,
        )
    names = ", ".join(sorted({e["field"] for e in errors})) or "the request"
    return problem(
        request,
        status=422,
        code="validation_error",
        title="Validation failed",
        detail=f"Invalid input in: {names}.",
        errors=errors,
    )


#: Codes and titles that do not follow from Python's reason phrase (which also
#: changed between versions: 413 is "Content Too Large" since RFC 9110).
_HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    413: ("payload_too_large", "Payload Too Large"),
    414: ("uri_too_long", "URI Too Long"),
    415: ("unsupported_media_type", "Unsupported Media Type"),
}


def http_problem(
    request: Request,
    *,
    status: int,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem for an HTTP-level refusal (unknown route, wrong method, too large)."""
    phrase = HTTPStatus(status).phrase
    code, title = _HTTP_PROBLEMS.get(
        status, (phrase.lower().replace(" ", "_").replace("-", "_"), phrase)
    )
    detail = detail if detail and detail != phrase else title + "."
    return problem(request, status=status, code=code, title=title, detail=detail, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette stops at the first
    route whose path matches, so its ``Allow`` names that route's methods only;
    here each method is tried against every route (a full match serves it)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def _too_deep_to_parse(request: Request) -> JSONResponse:
    # Python's JSON parser gives up (RecursionError) on a body nested about a
    # thousand levels deep: that is the depth limit, reported like the lower one
    # bodies that do parse meet (``kit.schemas.MAX_JSON_DEPTH``).
    message = f"body nests too deeply: a request body may nest at most {MAX_JSON_DEPTH} levels"
    return problem(
        request,
        status=422,
        code="validation_error",
        title="Validation failed",
        detail="Invalid input in: body.",
        errors=[_field_error(("body",), message, "json_too_deep")],
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        return _too_deep_to_parse(request)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return http_problem(
        request,
        status=exc.status_code,
        detail=exc.detail if isinstance(exc.detail, str) else None,
        headers=headers or None,
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    # This answer is sent from outside the request-id middleware, so it sets the header itself.
    request_id = getattr(request.state, "request_id", None)
    return problem(
        request,
        status=500,
        code="internal_error",
        title="Internal Server Error",
        detail="An unexpected error occurred; it has been logged.",
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
