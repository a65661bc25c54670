"""A local HTTP server standing in for SendGrid's v3 ``mail/send``.

It checks each request against the documented rules (auth, payload shape,
limits: at most 1,000 personalizations, 10,000 bytes of substitutions per
personalization, text/plain before text/html) and answers 400 with SendGrid's
error format when one is broken. Scripted answers (429, 500, ...) can be
queued; otherwise it accepts with 202 and an ``X-Message-Id``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "SG.test-key"


def _problems(body: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not 1 <= len(personalizations) <= 1000:
        problems.append("personalizations: 1 to 1000 items")
        personalizations = []
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        problems.append("from.email is required")
    content = body.get("content")
    if not isinstance(content, list) or not content:
        problems.append("content: at least one item")
    else:
        types = [c.get("type") for c in content]
        if "text/plain" in types and types[0] != "text/plain":
            problems.append("content: text/plain must be first")
        if any(not isinstance(c.get("value"), str) or not c["value"] for c in content):
            problems.append("content: each value is a non-empty string")
    for i, p in enumerate(personalizations):
        to = p.get("to")
        if not isinstance(to, list) or not to or any("@" not in str(t.get("email")) for t in to):
            problems.append(f"personalizations.{i}.to: recipients with an email")
        if not isinstance(p.get("subject", body.get("subject")), str):
            problems.append(f"personalizations.{i}.subject is required")
        for key in ("headers", "substitutions", "custom_args"):
            value = p.get(key, {})
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                problems.append(f"personalizations.{i}.{key}: string values only")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in p.get("substitutions", {}).items())
        if size > 10_000:
            problems.append(f"personalizations.{i}.substitutions: over 10000 bytes")
    return problems


def expand(body: dict[str, Any]) -> list[dict[str, str]]:
    """What each recipient receives: the content with its substitutions applied."""
    out = []
    for p in body["personalizations"]:
        parts = {}
        for c in body["content"]:
            value = c["value"]
            for tag, replacement in p.get("substitutions", {}).items():
                value = value.replace(tag, replacement)
            parts[c["type"]] = value
        out.append(
            {
                "to": p["to"][0]["email"],
                "subject": p.get("subject", body.get("subject")),
                "text": parts["text/plain"],
                "html": parts["text/html"],
                "message_id": p.get("headers", {}).get("Message-ID", ""),
                "list_unsubscribe": p.get("headers", {}).get("List-Unsubscribe", ""),
            }
        )
    return out


class SendGridStub:
    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.requests: list[tuple[float, int]] = []  # (time, status answered)
        self.script: deque[tuple[int, dict[str, str], dict[str, Any]]] = deque()
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers, answer = stub._answer(
                    self.path, self.headers.get("Authorization"), raw
                )
                payload = json.dumps(answer).encode() if answer else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer(
        self, path: str, auth: str | None, raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            result = self._decide(path, auth, raw)
            self.requests.append((time.monotonic(), result[0]))
            return result

    def _decide(
        self, path: str, auth: str | None, raw: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if path != "/v3/mail/send":
            return 404, {}, {"errors": [{"message": "not found"}]}
        if auth != f"Bearer {API_KEY}":
            return 401, {}, {"errors": [{"message": "The provided authorization grant is invalid"}]}
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {}, {"errors": [{"message": "Invalid JSON"}]}
        problems = _problems(body)
        if problems:
            return 400, {}, {"errors": [{"message": p} for p in problems]}
        if self.script:
            return self.script.popleft()
        self.accepted.append(body)
        return 202, {"X-Message-Id": f"sg-{len(self.accepted)}"}, {}

    def received(self) -> list[dict[str, str]]:
        with self.lock:
            return [m for body in self.accepted for m in expand(body)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
