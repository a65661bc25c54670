"""The port every email provider implements, and what a send attempt can come to.

A provider is used through connections: each worker task opens one and keeps
it for its lifetime (one SMTP session reused for many messages, not one per
message). A connection sends a batch and reports one result per message, so
a provider that takes many messages per request (SendGrid) and one that takes
them one by one (SMTP) look the same to the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from eventcrm.mail.message import OutgoingMessage


class Verdict(StrEnum):
    ACCEPTED = "accepted"  # the provider took responsibility for the message
    TRANSIENT = "transient"  # try again later (SMTP 4xx, connection errors, HTTP 429/5xx)
    PERMANENT = "permanent"  # will never work (SMTP 5xx such as unknown mailbox, HTTP 400)


@dataclass(frozen=True, slots=True)
class SendResult:
    delivery_id: int
    verdict: Verdict
    detail: str | None = None
    provider_message_id: str | None = None
    #: The provider asked us to wait this long (HTTP Retry-After).
    retry_after: float | None = None

    @classmethod
    def accepted(cls, delivery_id: int, provider_message_id: str | None) -> SendResult:
        return cls(delivery_id, Verdict.ACCEPTED, provider_message_id=provider_message_id)

    @classmethod
    def transient(
        cls, delivery_id: int, detail: str, retry_after: float | None = None
    ) -> SendResult:
        return cls(delivery_id, Verdict.TRANSIENT, detail, retry_after=retry_after)

    @classmethod
    def permanent(cls, delivery_id: int, detail: str) -> SendResult:
        return cls(delivery_id, Verdict.PERMANENT, detail)


class MailConnection(Protocol):
    async def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        """Send each message; never raises for a delivery problem, reports it instead."""


class MailSender(Protocol):
    #: Shown in logs and used for the provider's message ids.
    name: str
    #: The most messages one ``send`` call takes (SendGrid: 1,000 per request).
    max_batch: int

    def connect(self) -> AbstractAsyncContextManager[MailConnection]: ...
