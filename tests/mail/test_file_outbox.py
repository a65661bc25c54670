"""The embedded default provider (.eml files) and message building."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from eventcrm.mail.file import FileMailSender
from eventcrm.mail.message import Mailbox, OutgoingMessage, to_mime
from eventcrm.mail.ports import Verdict
from eventcrm.templates.rendering import MessageTemplate
from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_user


def _message(**overrides: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "delivery_id": 42,
        "campaign_id": "c1",
        "to": Mailbox("zoe@example.com", "Zoë Ångström"),
        "subject": "Héllo",
        "html": "<p>Hi</p>",
        "text": "Hi",
        "message_id": "<delivery-42.c1@events.example>",
        "unsubscribe_url": None,
        "date": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def _read_all(folder: Path) -> list[bytes]:
    return [f.read_bytes() for f in sorted(folder.iterdir())]


def _parse(data: bytes) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def test_a_message_has_both_parts_and_encodes_non_ascii_names() -> None:
    data = to_mime(_message(), Mailbox("news@events.example", "Events"))
    assert data.isascii()
    parsed = _parse(data)
    assert str(parsed["To"]) == "Zoë Ångström <zoe@example.com>"
    assert parsed["Subject"] == "Héllo"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert "List-Unsubscribe" not in parsed


def test_a_newline_from_data_cannot_start_a_header() -> None:
    template = MessageTemplate(subject="Hi {{ user.name }}", html=None, text="t")
    rendered = template.render({"user": {"name": "Eve\r\nBcc: victim@example.com"}})
    parsed = _parse(to_mime(_message(subject=rendered.subject), Mailbox("a@b.example")))
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Hi Eve Bcc: victim@example.com"


@pytest.mark.parametrize("value", ["", "nobody", "a@", "Name <>", "a@b.org, c@d.org"])
def test_a_sender_must_be_one_address(value: str) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        Mailbox.parse(value)


async def test_the_outbox_writes_one_file_per_delivery(tmp_path: Path) -> None:
    sender = FileMailSender(outbox_dir=tmp_path / "outbox", sender=Mailbox("a@b.example"))
    async with sender.connect() as connection:
        first = await connection.send([_message(), _message(delivery_id=43)])
        again = await connection.send([_message(subject="second try")])
    assert [r.verdict for r in first + again] == [Verdict.ACCEPTED] * 3
    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == ["000000000042-c1.eml", "000000000043-c1.eml"]
    assert _parse(files[0].read_bytes())["Subject"] == "second try"


async def test_the_embedded_default_sends_a_campaign_to_the_outbox(
    client: httpx.AsyncClient, tmp_path: Path, make_worker: Callable[..., DeliveryWorker]
) -> None:
    users = [await create_user(client) for _ in range(3)]
    await send_campaign(client, subject="s", html="<b>hi</b>", userIds=[u["id"] for u in users])
    await drain(make_worker(email_provider="file", outbox_dir=tmp_path))
    messages = [_parse(data) for data in _read_all(tmp_path)]
    recipients = sorted(m["To"].addresses[0].addr_spec for m in messages)
    assert recipients == sorted(u["email"] for u in users)
    text = messages[0].get_body(("plain",))
    assert text is not None
    assert text.get_content().strip() == "hi"
