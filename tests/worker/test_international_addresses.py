"""Internationalised addresses end to end: IDNA domains always, SMTPUTF8 where offered."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import deliveries, drain, send_campaign
from tests.support.factories import create_user
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def ascii_sink() -> Iterator[SmtpSink]:
    """A server that does not offer SMTPUTF8 (the shared sink does)."""
    sink = SmtpSink(enable_SMTPUTF8=False)
    sink.start()
    yield sink
    sink.stop()


async def test_a_unicode_address_goes_out_with_smtputf8_and_an_idna_domain(
    client: httpx.AsyncClient, smtp_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    jorg = await create_user(client, email="jörg@bücher.example", firstName="Jörg")
    ada = await create_user(client, email="ada@bücher.example")
    await send_campaign(client, subject="s", text="t", userIds=[jorg["id"], ada["id"]])
    await drain(make_worker())
    assert dict(smtp_sink.handler.recipients) == {
        "jörg@xn--bcher-kva.example": 1,
        "ada@xn--bcher-kva.example": 1,
    }


async def test_without_smtputf8_only_the_unicode_local_part_fails(
    client: httpx.AsyncClient, ascii_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    jorg = await create_user(client, email="jörg@bücher.example")
    ada = await create_user(client, email="ada@bücher.example")
    accepted = await send_campaign(client, subject="s", text="t", userIds=[jorg["id"], ada["id"]])
    await drain(make_worker(smtp_port=ascii_sink.port))
    assert dict(ascii_sink.handler.recipients) == {"ada@xn--bcher-kva.example": 1}
    failed = (await deliveries(client, accepted["campaignId"]))[jorg["email"]]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1
    assert "SMTPUTF8" in failed["lastError"]
