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

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

_HEADERS = HeaderRegistry()


@dataclass(frozen=True, slots=True)
class Mailbox:
    address: str
    name: str = ""

    @classmethod
    def parse(cls, value: str) -> Mailbox:
        """``a@b.org`` or ``Name <a@b.org>``; raises ValueError otherwise."""
        header = _HEADERS("From", value)
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
        if header.defects or len(addresses) != 1 or not addresses[0].domain:
            raise ValueError(f"{value!r} is not an email address (use a@b.org or Name <a@b.org>)")
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
    return f"<delivery-{delivery_id}.{campaign_id}@{domain}>"


def _address(mailbox: Mailbox) -> Address:
    username, _, domain = mailbox.address.rpartition("@")
    return Address(display_name=mailbox.name, username=username, domain=domain)


def to_mime(message: OutgoingMessage, sender: Mailbox) -> bytes:
    """The RFC 5322 bytes of a message (CRLF line endings, ready for SMTP DATA)."""
    mime = EmailMessage(policy=SMTP)
    mime["From"] = _address(sender)
    mime["To"] = _address(message.to)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(message.date)
    for name, value in message.extra_headers().items():
        mime[name] = value
    mime.set_content(message.text, subtype="plain")
    mime.add_alternative(message.html, subtype="html")
    return mime.as_bytes()
