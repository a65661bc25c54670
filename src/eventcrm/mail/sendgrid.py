"""The SendGrid provider: the v3 ``POST /v3/mail/send`` API over httpx.

Up to 1,000 messages go in one request, one *personalization* each (the
documented maximum per request). A personalization can carry its own
recipient, subject and headers but not its own body, so each message's
rendered body travels as *substitutions* of a shared placeholder body; SendGrid
caps substitutions at 10,000 bytes per personalization, so a message with a
larger body goes in a request of its own. An answer is about the whole
request, so it is mapped back to every delivery in it: 202 accepted; 429 and
5xx transient (honouring ``Retry-After`` or ``X-RateLimit-Reset``); 400 and
413 permanent, with SendGrid's error messages kept as the reason.

Addresses go with IDNA A-label domains. A recipient with a non-ASCII local
part (which only SMTPUTF8 can carry) is sent in a request of its own: if
SendGrid refuses it, that refusal fails that one delivery, not its batch.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog

from eventcrm.mail.message import Mailbox, OutgoingMessage, wire_address
from eventcrm.mail.ports import SendResult

log = structlog.get_logger(__name__)

MAX_PERSONALIZATIONS = 1000
MAX_SUBSTITUTION_BYTES = 10_000
_TEXT_TAG = "[%eventcrm_text%]"
_HTML_TAG = "[%eventcrm_html%]"


class SendGridMailSender:
    name = "sendgrid"
    max_batch = MAX_PERSONALIZATIONS

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        sender: Mailbox,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._sender = sender
        self._timeout = timeout
        self._transport = transport

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[SendGridConnection]:
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {self._api_key}"},
            timeout=self._timeout,
            transport=self._transport,
        ) as client:
            yield SendGridConnection(client, self._sender)


def _substitution_size(message: OutgoingMessage) -> int:
    return sum(
        len(k.encode()) + len(v.encode())
        for k, v in ((_TEXT_TAG, message.text), (_HTML_TAG, message.html))
    )


class SendGridConnection:
    def __init__(self, client: httpx.AsyncClient, sender: Mailbox) -> None:
        self._client = client
        self._sender = sender

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        shared: list[OutgoingMessage] = []
        alone: list[OutgoingMessage] = []
        for m in messages:
            try:
                _, utf8 = wire_address(m.to.address)
            except ValueError as exc:
                results.append(SendResult.permanent(m.delivery_id, f"invalid address: {exc}"))
                continue
            large = _substitution_size(m) > MAX_SUBSTITUTION_BYTES
            (alone if large or utf8 else shared).append(m)
        for start in range(0, len(shared), MAX_PERSONALIZATIONS):
            chunk = shared[start : start + MAX_PERSONALIZATIONS]
            results.extend(await self._post(chunk, self._payload(chunk, substitute=True)))
        for message in alone:
            results.extend(await self._post([message], self._payload([message], substitute=False)))
        return results

    def _payload(self, messages: Sequence[OutgoingMessage], *, substitute: bool) -> dict[str, Any]:
        personalizations = []
        for m in messages:
            to: dict[str, str] = {"email": wire_address(m.to.address)[0]}
            if m.to.name:
                to["name"] = m.to.name
            item: dict[str, Any] = {
                "to": [to],
                "subject": m.subject,
                "headers": m.extra_headers(),
                "custom_args": {"delivery_id": str(m.delivery_id), "campaign_id": m.campaign_id},
            }
            if substitute:
                item["substitutions"] = {_TEXT_TAG: m.text, _HTML_TAG: m.html}
            personalizations.append(item)
        sender: dict[str, str] = {"email": wire_address(self._sender.address)[0]}
        if self._sender.name:
            sender["name"] = self._sender.name
        text, html = (_TEXT_TAG, _HTML_TAG) if substitute else (messages[0].text, messages[0].html)
        return {
            "personalizations": personalizations,
            "from": sender,
            # text/plain must come first (SendGrid rejects another order).
            "content": [
                {"type": "text/plain", "value": text},
                {"type": "text/html", "value": html},
            ],
        }

    async def _post(
        self, messages: Sequence[OutgoingMessage], payload: dict[str, Any]
    ) -> list[SendResult]:
        ids = [m.delivery_id for m in messages]
        try:
            response = await self._client.post("/v3/mail/send", json=payload)
        except httpx.HTTPError as exc:
            detail = f"SendGrid unreachable: {type(exc).__name__}: {exc}"
            return [SendResult.transient(i, detail) for i in ids]
        status = response.status_code
        if 200 <= status < 300:
            provider_id = response.headers.get("X-Message-Id")
            return [SendResult.accepted(i, provider_id) for i in ids]
        detail = f"SendGrid HTTP {status}: {_errors(response)}"
        if status == 429:
            wait = _retry_after(response)
            log.warning("sendgrid_rate_limited", retry_after=wait, messages=len(ids))
            return [SendResult.transient(i, detail, retry_after=wait) for i in ids]
        if status >= 500 or status in (401, 403, 408):
            # 401/403: a key problem an operator fixes; retrying beats failing everyone.
            return [SendResult.transient(i, detail) for i in ids]
        return [SendResult.permanent(i, detail) for i in ids]


def _errors(response: httpx.Response) -> str:
    try:
        body = response.json()
        messages = [str(e.get("message", e)) for e in body.get("errors", [])]
    except (ValueError, AttributeError, TypeError):
        messages = []
    return "; ".join(messages)[:800] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    reset = response.headers.get("X-RateLimit-Reset")  # a Unix time
    if reset is not None:
        try:
            return max(0.0, float(reset) - time.time())
        except ValueError:
            pass
    return None
