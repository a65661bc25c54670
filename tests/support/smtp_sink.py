"""A real SMTP server (aiosmtpd) for tests and the benchmark: it receives, parses and keeps
every message, and can be told to misbehave (reject recipients, drop connections, go down)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Faults:
    #: Address -> (code, message) answered at RCPT TO, every time.
    reject: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Address -> how many more times to answer 451 before accepting.
    defer: dict[str, int] = field(default_factory=dict)
    #: Close the connection instead of answering the DATA of these message numbers (1-based).
    drop_at: set[int] = field(default_factory=set)


class SinkHandler:
    def __init__(self, *, parse: bool = True) -> None:
        self.parse = parse
        self.faults = Faults()
        self.messages: list[EmailMessage] = []
        self.recipients: Counter[str] = Counter()
        self.data_seen = 0
        #: Per accepted message: whether the session was encrypted, and who logged in.
        self.sessions: list[tuple[bool, str | None]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            if address in self.faults.reject:
                code, text = self.faults.reject[address]
                return f"{code} {text}"
            left = self.faults.defer.get(address, 0)
            if left > 0:
                self.faults.defer[address] = left - 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_seen += 1
            if self.data_seen in self.faults.drop_at:
                server.transport.close()
                return "421 4.3.2 Closing"
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt] += 1
            login = session.auth_data if isinstance(session.auth_data, str) else None
            encrypted = server.transport.get_extra_info("ssl_object") is not None
            self.sessions.append((encrypted, login))
            if self.parse:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                self.messages.append(message)
        return "250 2.0.0 Accepted"

    @property
    def count(self) -> int:
        with self.lock:
            return sum(self.recipients.values())


class SmtpSink:
    """An aiosmtpd server in a background thread on 127.0.0.1."""

    def __init__(
        self, *, parse: bool = True, port: int | None = None, **server_options: Any
    ) -> None:
        """``server_options`` go to aiosmtpd (``ssl_context`` for implicit TLS;
        ``tls_context``, ``require_starttls``, ``authenticator``, ``auth_required``)."""
        self.handler = SinkHandler(parse=parse)
        self.port = port or free_port()
        self._options = server_options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            data_size_limit=10_000_000,
            **self._options,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
