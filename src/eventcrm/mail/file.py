"""The embedded default provider: each message becomes a ``.eml`` file in an outbox folder.

Files are named after the delivery id and written atomically (a temporary
file renamed into place), so a message sent twice after a crash is one file,
and a reader never sees half a message. Any mail client opens them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from eventcrm.mail.message import Mailbox, OutgoingMessage, needs_smtputf8, to_mime
from eventcrm.mail.ports import SendResult


class FileMailSender:
    name = "file"
    max_batch = 100

    def __init__(self, *, outbox_dir: Path, sender: Mailbox) -> None:
        self.outbox_dir = outbox_dir
        self._sender = sender

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[FileMailConnection]:
        yield FileMailConnection(self.outbox_dir, self._sender)


class FileMailConnection:
    def __init__(self, outbox_dir: Path, sender: Mailbox) -> None:
        self._dir = outbox_dir
        self._sender = sender

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        return await asyncio.to_thread(self._write_all, messages)

    def _write_all(self, messages: Sequence[OutgoingMessage]) -> list[SendResult]:
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return [SendResult.transient(m.delivery_id, f"outbox: {exc}") for m in messages]
        return [self._write(m) for m in messages]

    def _write(self, message: OutgoingMessage) -> SendResult:
        name = f"{message.delivery_id:012d}-{message.campaign_id}.eml"
        final = self._dir / name
        partial = self._dir / f".{name}.tmp"
        try:
            # An .eml file may hold UTF-8 headers (RFC 6532) for a non-ASCII address.
            utf8 = needs_smtputf8(message, self._sender)
            partial.write_bytes(to_mime(message, self._sender, utf8=utf8))
            os.replace(partial, final)
        except OSError as exc:  # a full disk or a permission problem may pass
            return SendResult.transient(message.delivery_id, f"outbox: {exc}")
        except ValueError as exc:  # a header the email package refuses
            return SendResult.permanent(message.delivery_id, f"invalid message: {exc}")
        return SendResult.accepted(message.delivery_id, name)
