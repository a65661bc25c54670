"""The MIME writer: RFC 2047 folding of long display names, IDNA domains, SMTPUTF8."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest

from eventcrm.mail.message import (
    Mailbox,
    OutgoingMessage,
    encoded_words,
    needs_smtputf8,
    to_mime,
    wire_address,
)

SENDER = Mailbox("news@events.example", "Events Team")
CYRILLIC_40 = "Александра Константиновна Преображенская"  # 40 characters


def message(to: Mailbox) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_id=1,
        campaign_id="c",
        to=to,
        subject="Hi",
        html="<p>hi</p>",
        text="hi",
        message_id="<delivery-1.c@events.example>",
        unsubscribe_url=None,
        date=datetime(2030, 1, 1, tzinfo=UTC),
    )


def header_block(raw: bytes, name: str) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    lines = head.split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    block = [lines[start]]
    block.extend(line for line in lines[start + 1 :] if line.startswith(" "))
    return "\r\n".join(block[: 1 + sum(1 for _ in block[1:])])


@pytest.mark.parametrize(
    "name",
    [CYRILLIC_40, CYRILLIC_40 * 3, "Zoë " * 30, "日本語の名前" * 10, "😀" * 25, "é"],
)
def test_a_non_ascii_name_is_folded_into_short_encoded_words(name: str) -> None:
    raw = to_mime(message(Mailbox("ada@example.com", name)), SENDER)
    to = header_block(raw, "To")
    words = [w for w in to.replace("\r\n", " ").split() if w.startswith("=?")]
    assert len(words) >= len(name.encode()) // 45
    assert all(len(w) <= 75 for w in words)  # RFC 2047 §2
    assert all(len(line) <= 76 for line in to.split("\r\n"))
    # RFC 2047 decoding (whitespace between encoded-words is not part of the text).
    value = to.removeprefix("To: ").replace("\r\n", "")
    assert str(make_header(decode_header(value))) == f"{name} <ada@example.com>"
    # The modern parser keeps folding whitespace between encoded-words (a known
    # stdlib quirk), so it may add spaces at word boundaries, never lose text.
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    [address] = parsed["To"].addresses
    assert address.addr_spec == "ada@example.com"
    assert address.display_name.replace(" ", "") == name.replace(" ", "")


def test_a_forty_character_cyrillic_name_is_split_between_its_words() -> None:
    words = encoded_words(CYRILLIC_40)
    texts = [str(make_header(decode_header(w))) for w in words]
    assert texts == ["Александра ", "Константиновна ", "Преображенская"]
    parsed = email.message_from_bytes(
        to_mime(message(Mailbox("ada@example.com", CYRILLIC_40)), SENDER),
        policy=email.policy.default,
    )
    assert " ".join(parsed["To"].addresses[0].display_name.split()) == CYRILLIC_40


@pytest.mark.parametrize("name", ["Ada Lovelace", 'O"Brien, Ada (CEO)', "a.b@c"])
def test_ascii_names_round_trip(name: str) -> None:
    raw = to_mime(message(Mailbox("ada@example.com", name)), SENDER)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["From"].addresses[0].display_name == "Events Team"


def test_an_internationalised_domain_goes_out_as_idna() -> None:
    assert wire_address("ada@bücher.example") == ("ada@xn--bcher-kva.example", False)
    raw = to_mime(message(Mailbox("ada@bücher.example", "Ada")), SENDER)
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "ada@xn--bcher-kva.example"


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    jorg = message(Mailbox("jörg@bücher.example", "Jörg"))
    assert needs_smtputf8(jorg, SENDER)
    assert not needs_smtputf8(message(Mailbox("ada@bücher.example")), SENDER)
    with pytest.raises(ValueError, match="SMTPUTF8"):
        to_mime(jorg, SENDER)
    raw = to_mime(jorg, SENDER, utf8=True)
    parsed = email.message_from_string(raw.decode("utf-8"), policy=email.policy.SMTPUTF8)
    assert parsed["To"].addresses[0].addr_spec == "jörg@xn--bcher-kva.example"
    assert parsed["To"].addresses[0].display_name == "Jörg"


def test_an_invalid_internationalised_domain_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="domain"):
        wire_address("ada@bü--cher..example")
