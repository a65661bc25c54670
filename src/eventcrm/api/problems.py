"""The one mapping from errors to RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from eventcrm.errors import (
    Busy,
    Conflict,
    DomainError,
    FieldProblem,
    InvalidCursor,
    InvalidInput,
    NotFound,
)
from eventcrm.kit.schemas import MAX_JSON_DEPTH
from eventcrm.kit.text import to_camel

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:eventcrm:problem:"

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Busy, 503),
    (InvalidCursor, 400),
    (InvalidInput, 422),
)


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
        errors = [_field_error(p.loc, p.message, p.type) for p in exc.errors]
    return problem(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=errors,
        headers={"Retry-After": "1"} if isinstance(exc, Busy) else None,
    )


def _camel_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # Body fields are named as clients write them (camelCase); query params stay snake_case.
    if loc and loc[0] == "body":
        return ("body", *(to_camel(p) if isinstance(p, str) else p for p in loc[1:]))
    return tuple(loc)


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
        if kind in ("read_only", "nul_character", "invalid_unicode", "json_too_deep"):
            # Raised for the whole body; the context names the field.
            loc = (*loc, *str(err.get("ctx", {}).get("field", "")).split("."))
        at = err.get("ctx", {}).get("at")
        if isinstance(at, list):
            # A validator of a whole tree (a filter) locates the problem inside it.
            loc = (*loc, *at)
        if kind == "extra_forbidden":
            message = f"Unknown field {loc[-1]!r}."
        problems.append(FieldProblem(_camel_loc(loc), message.removeprefix("Value error, "), kind))
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
    phrase = HTTPStatus(exc.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else phrase + "."
    return problem(
        request,
        status=exc.status_code,
        code=code,
        title=phrase,
        detail=detail,
        headers=getattr(exc, "headers", None),
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
