"""The SMTP provider (aiosmtplib): one connection per worker task, reused for every message.

Failure classes follow RFC 5321 §4.2.1: a 4yz reply is a transient negative
completion (try again later), a 5yz reply a permanent one (an unknown
mailbox, a refused message). A dropped connection or a timeout is transient;
the connection is reopened for the next message.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
import structlog

from eventcrm.mail.message import (
    Mailbox,
    OutgoingMessage,
    needs_smtputf8,
    to_mime,
    wire_address,
)
from eventcrm.mail.ports import SendResult

log = structlog.get_logger(__name__)

#: Probe a connection that sat idle this long before trusting it with a message.
IDLE_PROBE_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None
    timeout: float
    #: Extra CA certificates to trust (PEM); None: the system's.
    ca_file: str | None = None


class SmtpMailSender:
    name = "smtp"
    max_batch = 50

    def __init__(self, *, config: SmtpConfig, sender: Mailbox) -> None:
        self._config = config
        self._sender = sender

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[SmtpConnection]:
        connection = SmtpConnection(self._config, self._sender)
        try:
            yield connection
        finally:
            await connection.close()


def _classify(delivery_id: int, code: int, message: str) -> SendResult:
    detail = f"SMTP {code} {message}".strip()
    if 400 <= code < 500:
        return SendResult.transient(delivery_id, detail)
    return SendResult.permanent(delivery_id, detail)


class SmtpConnection:
    def __init__(self, config: SmtpConfig, sender: Mailbox) -> None:
        self._config = config
        self._sender = sender
        self._smtp: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        for index, message in enumerate(messages):
            try:
                smtp = await self._ready()
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The server is unreachable: don't hammer it once per message.
                reason = f"cannot connect to {self._config.host}:{self._config.port}: {exc}"
                log.warning("smtp_connect_failed", error=str(exc))
                results.extend(
                    SendResult.transient(m.delivery_id, reason) for m in messages[index:]
                )
                return results
            results.append(await self._send_one(smtp, message))
        return results

    async def _send_one(self, smtp: aiosmtplib.SMTP, message: OutgoingMessage) -> SendResult:
        try:
            # A non-ASCII local part goes out with SMTPUTF8 (RFC 6531); the
            # domains are IDNA A-labels either way.
            utf8 = needs_smtputf8(message, self._sender)
            data = to_mime(message, self._sender, utf8=utf8)
            sender, _ = wire_address(self._sender.address)
            recipient, _ = wire_address(message.to.address)
        except ValueError as exc:
            return SendResult.permanent(message.delivery_id, f"invalid message: {exc}")
        try:
            _, reply = await smtp.sendmail(
                sender, [recipient], data, mail_options=["SMTPUTF8"] if utf8 else None
            )
        except aiosmtplib.SMTPNotSupported:
            detail = "the SMTP server does not offer SMTPUTF8, needed for a non-ASCII address"
            return SendResult.permanent(message.delivery_id, detail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return _classify(message.delivery_id, refused.code, refused.message)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            await self.close()
            return SendResult.transient(message.delivery_id, f"connection lost: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:  # the server is closing the session (RFC 5321 §3.8)
                await self.close()
            return _classify(message.delivery_id, exc.code, exc.message)
        except ValueError as exc:  # an address aiosmtplib refuses to put on the wire
            return SendResult.permanent(message.delivery_id, f"invalid address: {exc}")
        except aiosmtplib.SMTPException as exc:
            await self.close()
            return SendResult.transient(message.delivery_id, f"SMTP error: {exc}")
        self._last_used = time.monotonic()
        return SendResult.accepted(message.delivery_id, reply.strip()[:255] or None)

    async def _ready(self) -> aiosmtplib.SMTP:
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            if time.monotonic() - self._last_used < IDLE_PROBE_SECONDS:
                return smtp
            try:  # the server may have closed an idle session on its side
                await smtp.noop()
                self._last_used = time.monotonic()
                return smtp
            except (aiosmtplib.SMTPException, OSError):
                await self.close()
        config = self._config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            username=config.username,
            password=config.password,
            timeout=config.timeout,
            cert_bundle=config.ca_file,
        )
        await smtp.connect()
        self._smtp = smtp
        self._last_used = time.monotonic()
        return smtp

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()
