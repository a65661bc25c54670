"""Turning a rendered message into what goes on the wire.

Every message gets a ``Message-ID`` derived from its delivery id, so a
recipient's mail client (and we, in tests) can tell a retried duplicate from
a second message. Campaign mail carries ``List-Unsubscribe`` with an HTTPS
link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058,
required by large mailbox providers for bulk senders); transactional mail
does not. Both a text and an HTML part are always present
(multipart/alternative, text first as RFC 2046 §5.1.4 orders them).

Internationalised addresses: a domain is always written as IDNA A-labels
(``bücher.example`` → ``xn--bcher-kva.example``, RFC 5890), which every server
takes. A non-ASCII local part (``jörg@…``) cannot be expressed in ASCII at all:
it needs SMTPUTF8 (RFC 6531) and raw UTF-8 in the headers (RFC 6532), so
``to_mime(..., utf8=True)`` writes such a message and refuses it otherwise.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.utils import format_datetime

import idna

_HEADERS = HeaderRegistry()
#: RFC 2047 §2: an encoded-word is at most 75 characters. "=?utf-8?b?" + "?=" take
#: 12, leaving 60 base64 characters: 45 bytes of UTF-8 per word.
_WORD_BYTES = 45
#: RFC 2047 §2: a line holding an encoded-word is at most 76 characters.
_MAX_ENCODED_LINE = 76
#: RFC 5322 §3.2.3 specials: a display name containing one is quoted.
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
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


def wire_address(address: str) -> tuple[str, bool]:
    """The address as it goes on the wire, and whether it needs SMTPUTF8.

    The domain becomes IDNA A-labels (UTS 46 mapping, as mail clients do);
    a non-ASCII local part has no ASCII form, so it needs SMTPUTF8.
    Raises ValueError for a domain IDNA refuses.
    """
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise ValueError(f"{domain!r} is not a valid internationalised domain: {exc}") from None
    return f"{local}@{domain}", not local.isascii()


def encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded-words of at most 75 characters each, splitting
    only between characters (§5: a word holds whole characters)."""
    data = text.encode("utf-8")
    words = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            end -= 1
        space = data.rfind(b" ", start + 1, end) if end < len(data) else -1
        if space > start:
            # End a word after a space where one is near: a decoder that wrongly
            # keeps the folding whitespace between words then adds a space
            # beside a space rather than inside a word.
            end = space + 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return words


def _mailbox(mailbox: Mailbox, header: str, *, utf8: bool) -> str:
    """``Header: name <address>``, the name folded into encoded-words when not ASCII."""
    address, needs_utf8 = wire_address(mailbox.address)
    if needs_utf8 and not utf8:
        raise ValueError(
            f"{mailbox.address!r} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531)"
        )
    name = _clean(mailbox.name)
    if not name:
        return f"{header}: {address}"
    if name.isascii():
        if _SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{header}: {name} <{address}>"
    # Several encoded-words separated by folding whitespace (RFC 2047 §2, §5).
    line = f"{header}:"
    lines = []
    for word in [*encoded_words(name), f"<{address}>"]:
        if len(line) + 1 + len(word) > _MAX_ENCODED_LINE and line != f"{header}:":
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return "\r\n".join(lines)


def _quoted_printable(body: str) -> bytes:
    normalized = body.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(normalized.encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def needs_smtputf8(message: OutgoingMessage, sender: Mailbox) -> bool:
    """Whether either address has a non-ASCII local part."""
    return not all(a.rpartition("@")[0].isascii() for a in (message.to.address, sender.address))


def to_mime(message: OutgoingMessage, sender: Mailbox, *, utf8: bool = False) -> bytes:
    """The RFC 5322 bytes of a message (CRLF line endings, ready for SMTP).

    7-bit clean unless ``utf8`` (for SMTPUTF8, RFC 6532), which lets an
    address with a non-ASCII local part be written as UTF-8; without it such
    an address raises ValueError.

    Written directly rather than through ``email.message.EmailMessage``: the
    standard library's header machinery costs milliseconds per message, which
    would make building a message slower than sending it. Bodies are
    quoted-printable (by ``binascii``, in C); headers are RFC 2047 encoded when
    not plain ASCII. The multipart boundary starts with ``==``, which
    quoted-printable output can never contain, so no body can collide with it.
    """
    boundary = f"==eventcrm-{uuid.uuid4().hex}"
    headers = [
        _mailbox(sender, "From", utf8=utf8),
        _mailbox(message.to, "To", utf8=utf8),
        f"Subject: {_text_header(message.subject)}",
        f"Date: {format_datetime(message.date)}",
        *(f"{name}: {_clean(value)}" for name, value in message.extra_headers().items()),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    head = ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8" if utf8 else "ascii")
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
