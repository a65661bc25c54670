"""Pure ASGI middleware: request id in and out with one JSON access-log line per
request, and the limits on URL and body size."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventcrm.api.problems import http_problem

log = structlog.get_logger("eventcrm.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), ""
        )
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Set by the actor dependency once the caller is known (absent before that).
            actor = scope["state"].get("actor")
            log.info(
                "request",
                actor=getattr(actor, "label", None),
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit. An
    ``HTTPException``, so FastAPI's body parsing lets it through unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


class RequestLimitsMiddleware:
    """Refuses, before any of it is buffered, a URL longer than ``max_url_bytes``
    (414) and a body longer than its path's limit (413).

    A declared ``Content-Length`` over the limit is refused without reading the
    body; a chunked or under-declared body is counted while the application
    reads it, and reading stops at the first chunk past the limit.
    ``body_limits`` maps a path prefix to a different limit (the longest prefix
    wins), for a route that needs to accept more.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_url_bytes: int,
        body_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes
        self.body_limits = sorted((body_limits or {}).items(), key=lambda kv: -len(kv[0]))

    def body_limit(self, path: str) -> int:
        return next((n for p, n in self.body_limits if path.startswith(p)), self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_bytes = len(scope.get("raw_path") or scope["path"].encode()) + len(
            scope.get("query_string", b"")
        )
        if url_bytes > self.max_url_bytes:
            detail = f"The URL exceeds the limit of {self.max_url_bytes} bytes."
            await _refuse(scope, receive, send, status=414, detail=detail)
            return
        limit = self.body_limit(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, status=413, detail=BodyTooLarge(limit).detail)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:  # raised past the app's own exception handlers
            if started:
                raise
            await _refuse(scope, receive, send, status=413, detail=exc.detail)


async def _refuse(scope: Scope, receive: Receive, send: Send, *, status: int, detail: str) -> None:
    response = http_problem(Request(scope), status=status, detail=detail)
    await response(scope, receive, send)
