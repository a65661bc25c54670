"""Turning a rendered message into what goes on the wire.

Every message gets a ``Message-ID`` derived from its delivery id, so a
recipient's mail client (and we, in tests) can tell a retried duplicate from
a second message. Campaign mail carries ``List-Unsubscribe`` with an HTTPS
link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058,
required by large mailbox providers for bulk senders); transactional mail
does not. Both a text and an HTML part are always present
(multipart/alternative, text first as RFC 2046 §5.1.4 orders them).
"""

from __future__ import annotations

import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.utils import format_datetime, formataddr

_HEADERS = HeaderRegistry()
#: "Subject: " plus a value stays within a line's 998 characters (RFC 5322 §2.1.1).
_MAX_PLAIN_HEADER = 900


@dataclass(frozen=True, slots=True)
class Mailbox:
    address: str
    name: str = ""

    @classmethod
    def parse(cls, value: str) -> Mailbox:
        """``a@b.org`` or ``Name <a@b.org>``; raises ValueError otherwise."""
        problem = f"{value!r} is not an email address (use a@b.org or Name <a@b.org>)"
        try:
            header = _HEADERS("From", value)
        except (IndexError, TypeError):  # the stdlib parser trips on some malformed input
            raise ValueError(problem) from None
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
        if header.defects or len(addresses) != 1 or not addresses[0].domain:
            raise ValueError(problem)
        return cls(address=addresses[0].addr_spec, name=addresses[0].display_name)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    delivery_id: int
    campaign_id: str
    to: Mailbox
    subject: str
    html: str
    text: str
    message_id: str
    #: Campaign mail only: where List-Unsubscribe points.
    unsubscribe_url: str | None
    date: datetime

    def extra_headers(self) -> dict[str, str]:
        headers = {"Message-ID": self.message_id}
        if self.unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{self.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return headers


def message_id_for(*, delivery_id: int, campaign_id: str, domain: str) -> str:
    """Unique per delivery, so a retry of one delivery reuses its id (RFC 5322 §3.6.4).

    The campaign id's tail (random in a UUIDv7) keeps ids unique across
    databases; the id is kept short so the header fits on one line.
    """
    tail = "".join(c for c in campaign_id if c.isalnum())[-12:]
    return f"<delivery-{delivery_id}.{tail}@{domain}>"


def _clean(value: str) -> str:
    # A header value never contains a line break: data must not start a new header.
    return " ".join(value.splitlines()) if ("\n" in value or "\r" in value) else value


def _text_header(value: str) -> str:
    value = _clean(value)
    if value.isascii() and len(value) <= _MAX_PLAIN_HEADER:
        return value
    # RFC 2047 encoded words, folded onto continuation lines.
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _mailbox(mailbox: Mailbox) -> str:
    return formataddr((_clean(mailbox.name), mailbox.address), charset="utf-8")


def _quoted_printable(body: str) -> bytes:
    normalized = body.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(normalized.encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def to_mime(message: OutgoingMessage, sender: Mailbox) -> bytes:
    """The RFC 5322 bytes of a message (CRLF line endings, 7-bit clean, ready for SMTP).

    Written directly rather than through ``email.message.EmailMessage``: the
    standard library's header machinery costs milliseconds per message, which
    would make building a message slower than sending it. Bodies are
    quoted-printable (by ``binascii``, in C); headers are RFC 2047 encoded when
    not plain ASCII. The multipart boundary starts with ``==``, which
    quoted-printable output can never contain, so no body can collide with it.
    """
    boundary = f"==eventcrm-{uuid.uuid4().hex}"
    headers = [
        f"From: {_mailbox(sender)}",
        f"To: {_mailbox(message.to)}",
        f"Subject: {_text_header(message.subject)}",
        f"Date: {format_datetime(message.date)}",
        *(f"{name}: {_clean(value)}" for name, value in message.extra_headers().items()),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    head = ("\r\n".join(headers) + "\r\n\r\n").encode("ascii")
    chunks = [head]
    for subtype, body in (("plain", message.text), ("html", message.html)):
        chunks.append(
            f"--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        chunks.append(_quoted_printable(body))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(chunks)
