"""Pure ASGI middleware, in as few layers as the order allows (each layer and
each ``send`` wrapper costs every request): the request context (request id
in and out with one JSON access-log line per request, a trailing slash
ignored, the security headers); the limits on URL and body size with the
rate-limit headers; the refusal of cross-site writes. CORS, when configured,
sits between the first and the second."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid
from collections.abc import Mapping

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventcrm.api.problems import http_problem, problem
from eventcrm.kit import metrics
from eventcrm.kit.logging import access_log

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """What every HTTP exchange gets, in one layer (each layer costs every request):

    - a request id, taken from ``X-Request-ID`` when safe, else new, in the
      response and in the JSON access-log line written when the request ends,
      with the request's metrics;
    - one trailing slash removed from the path before routing (the root ``/``
      stays), so ``/users/`` is served as ``/users`` instead of a redirect a
      POST would not follow (the access log shows the path as sent);
    - the security headers (see ``SecurityHeaders``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_prefix: str,
        docs_paths: tuple[str, ...] = (),
        trust_proxy: bool = False,
    ) -> None:
        self.app = app
        self.security = SecurityHeaders(
            api_prefix=api_prefix, docs_paths=docs_paths, trust_proxy=trust_proxy
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), ""
        )
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        sent_path: str = scope["path"]
        inner = _without_trailing_slash(scope)  # shares scope["state"]
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
            await self.security(self.app, inner, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            # Set by the actor dependency once the caller is known (absent before that).
            actor = scope["state"].get("actor")
            access_log(
                actor=getattr(actor, "label", None),
                method=scope["method"],
                path=sent_path,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            # By route template (bounded label values): what matched, else "unmatched".
            route = _route_template(inner)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            metrics.REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            metrics.REQUEST_SECONDS.labels(method=method, route=route).observe(elapsed)
            structlog.contextvars.unbind_contextvars("request_id")


def _route_template(scope: Scope) -> str:
    """The matched route's path template with its router's prefix
    (``/api/v1/events/{event_id}``); ``unmatched`` when none matched. FastAPI
    keeps the prefixed template in its route context, the route itself only
    its own path."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else "unmatched"


def _without_trailing_slash(scope: Scope) -> Scope:
    path: str = scope["path"]
    if len(path) <= 1 or not path.endswith("/"):
        return scope
    trimmed = dict(scope, path=path[:-1])
    raw: bytes | None = scope.get("raw_path")
    if raw is not None and raw.endswith(b"/"):
        trimmed["raw_path"] = raw[:-1]
    return trimmed


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit. An
    ``HTTPException``, so FastAPI's body parsing lets it through unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


class RequestLimitsMiddleware:
    """Refuses, before any of it is buffered, a URL longer than ``max_url_bytes``
    (414) and a body longer than its path's limit (413); and reports the
    request's budget in ``RateLimit-Limit``, ``RateLimit-Remaining`` and
    ``RateLimit-Reset`` (draft-ietf-httpapi-ratelimit-headers): the tightest
    budget the request counted against, which ``api/rate_limits.py`` leaves in
    the request state.

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

        async def send_with_budget(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                decision = scope.get("state", {}).get("rate_limit")
                if decision is not None:
                    message.setdefault("headers", []).extend(
                        [
                            (b"ratelimit-limit", str(decision.limit).encode()),
                            (b"ratelimit-remaining", str(decision.remaining).encode()),
                            (b"ratelimit-reset", str(decision.reset_after).encode()),
                        ]
                    )
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_budget)
        except BodyTooLarge as exc:  # raised past the app's own exception handlers
            if started:
                raise
            await _refuse(scope, receive, send, status=413, detail=exc.detail)


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    status: int,
    detail: str,
    code_and_title: tuple[str, str] | None = None,
) -> None:
    request = Request(scope)
    if code_and_title is None:  # the code and title follow from the status
        response = http_problem(request, status=status, detail=detail)
    else:
        code, title = code_and_title
        response = problem(request, status=status, code=code, title=title, detail=detail)
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), "")


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPE = re.compile(r"^application/(?:[a-z0-9.+-]+\+)?json$")


class CrossSiteWriteGuardMiddleware:
    """Keeps a foreign web page from making a browser write.

    - An unsafe request (POST, PUT, PATCH, DELETE) whose ``Origin`` is neither
      this server's own nor an allowed one (``EVENTCRM_CORS_ORIGINS``) is 403
      ``cross_origin``, body or not (a body-less campaign send too).
      Clients that are not browsers send no ``Origin`` and are not affected.
    - An unsafe request with a body must say it is JSON (``application/json``
      or ``application/*+json``), else 415: an HTML form can send none of
      those without a CORS preflight.

    ``form_paths`` (path prefixes) are exempt from both: the RFC 8058 one-click
    unsubscribe is posted as ``application/x-www-form-urlencoded`` by mail
    providers and from our own page, and its signed token is the authority.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: list[str],
        form_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.allowed_origins = frozenset(allowed_origins)
        self.form_paths = form_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _UNSAFE_METHODS
            or scope["path"].startswith(self.form_paths)
        ):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin and origin not in self.allowed_origins and origin != _own_origin(scope):
            detail = f"Writes from the web origin {origin[:200]!r} are not allowed."
            await _refuse(
                scope,
                receive,
                send,
                status=403,
                detail=detail,
                code_and_title=("cross_origin", "Cross-origin write refused"),
            )
            return
        length = _header(scope, b"content-length")
        has_body = (length not in ("", "0")) or bool(_header(scope, b"transfer-encoding"))
        media_type = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
        if has_body and not _JSON_TYPE.match(media_type):
            detail = f"Send the body as application/json, not {media_type or 'without a type'!r}."
            await _refuse(scope, receive, send, status=415, detail=detail)
            return
        await self.app(scope, receive, send)


def _own_origin(scope: Scope) -> str:
    """The origin the browser sees this server at (from the ``Host`` it used)."""
    return f"{scope.get('scheme', 'http')}://{_header(scope, b'host')}"


class SecurityHeaders:
    """Headers every response carries (applied by ``RequestContextMiddleware``).

    - ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``.
    - ``Cache-Control: no-store`` on API responses (unless the route set one):
      they hold personal data a shared cache must not keep.
    - A ``Content-Security-Policy``: ``default-src 'none'`` for everything but
      the documentation pages; those get ``'self'`` plus what the page itself
      loads (its script, style, image and font origins), and their inline
      scripts by SHA-256 hash, computed from the page as it is served.
    - ``Strict-Transport-Security`` when the request came over TLS, or
      ``X-Forwarded-Proto: https`` says so and ``trust_proxy`` is set.
    """

    def __init__(self, *, api_prefix: str, docs_paths: tuple[str, ...], trust_proxy: bool) -> None:
        self.api_prefix = api_prefix
        self.docs_paths = frozenset(docs_paths)
        self.trust_proxy = trust_proxy

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run ``app`` with its answer's headers completed."""
        path: str = scope["path"]
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if self._over_tls(scope):
            common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        if path in self.docs_paths:
            await self._docs_page(app, scope, receive, send, common)
            return
        common.append((b"content-security-policy", _API_CSP))
        no_store = path.startswith(self.api_prefix + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if no_store and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                headers.extend(common)
            await send(message)

        await app(scope, receive, send_with_headers)

    def _over_tls(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        forwarded = _header(scope, b"x-forwarded-proto").split(",", 1)[0].strip().lower()
        return self.trust_proxy and forwarded == "https"

    async def _docs_page(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        common: list[tuple[bytes, bytes]],
    ) -> None:
        # A small generated page: buffered so its policy can name its own scripts.
        start: Message | None = None
        body = bytearray()

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await app(scope, receive, buffer)
        assert start is not None
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers += [
            *common,
            (b"content-security-policy", docs_policy(body.decode("utf-8", "replace")).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(body)})


#: JSON and the unsubscribe page: nothing to load, no framing, forms post home.
_API_CSP = b"default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_LOADED = re.compile(r"<(script|link|img)\b[^>]*?\b(?:src|href)=[\"'](https?://[^/\"']+)", re.I)


def docs_policy(html: str) -> str:
    """The CSP of a documentation page: its own inline scripts by hash, and the
    origins its tags load from (CDN assets, or none when served locally)."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    origins: dict[str, set[str]] = {"script": set(), "link": set(), "img": set()}
    for tag, origin in _LOADED.findall(html):
        origins[tag.lower()].add(origin)
    scripts = sorted(origins["script"])
    styles = sorted(origins["link"])  # stylesheets and the icon
    images = sorted(origins["img"] | origins["link"])
    fonts = ["https://fonts.gstatic.com"] if "https://fonts.googleapis.com" in styles else []
    directives = [
        ["default-src", "'self'"],
        ["script-src", "'self'", *hashes, *scripts],
        # Swagger UI and ReDoc set style attributes and inject <style> at run time.
        ["style-src", "'self'", "'unsafe-inline'", *styles],
        ["img-src", "'self'", "data:", *images],
        ["font-src", "'self'", "data:", *fonts],
        ["worker-src", "'self'", "blob:"],
        ["connect-src", "'self'"],
        ["object-src", "'none'"],
        ["frame-ancestors", "'none'"],
        ["base-uri", "'self'"],
    ]
    return "; ".join(" ".join(d) for d in directives)
