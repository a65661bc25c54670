"""SMTP over STARTTLS and implicit TLS, with login, against a real aiosmtpd server."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from eventcrm.worker.runner import DeliveryWorker
from tests.support.campaigns import drain, send_campaign
from tests.support.factories import create_user
from tests.support.smtp_sink import SmtpSink

USER, PASSWORD = "mailer", "app-password"

# aiosmtpd warns about AUTH without STARTTLS, not knowing the implicit-TLS session is encrypted.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: aiosmtpd itself answers (235, or 535 on a wrong password).
    return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


@pytest.fixture(params=["starttls", "tls"])
def secure_sink(
    request: pytest.FixtureRequest, server_context: ssl.SSLContext
) -> Iterator[SmtpSink]:
    options: dict[str, Any] = {"authenticator": _authenticate, "auth_required": True}
    if request.param == "tls":
        # aiosmtpd only counts STARTTLS as TLS for AUTH; this session is TLS from the start.
        options.update(ssl_context=server_context, auth_require_tls=False)
    else:
        options.update(tls_context=server_context, require_starttls=True)
    sink = SmtpSink(**options)
    sink.security = request.param  # type: ignore[attr-defined]
    sink.start()
    yield sink
    sink.stop()


async def test_mail_goes_encrypted_and_logged_in(
    client: httpx.AsyncClient,
    secure_sink: SmtpSink,
    ca_file: Path,
    make_worker: Callable[..., DeliveryWorker],
) -> None:
    users = [await create_user(client) for _ in range(3)]
    await send_campaign(client, subject="s", text="t", userIds=[u["id"] for u in users])
    worker = make_worker(
        smtp_port=secure_sink.port,
        smtp_security=secure_sink.security,  # type: ignore[attr-defined]
        smtp_username=USER,
        smtp_password=SecretStr(PASSWORD),
        smtp_ca_file=ca_file,
    )
    await drain(worker)
    assert dict(secure_sink.handler.recipients) == {u["email"]: 1 for u in users}
    assert secure_sink.handler.sessions == [(True, USER)] * 3


async def test_a_wrong_password_is_retried_not_failed(
    client: httpx.AsyncClient,
    secure_sink: SmtpSink,
    ca_file: Path,
    make_worker: Callable[..., DeliveryWorker],
) -> None:
    user = await create_user(client)
    accepted = await send_campaign(client, subject="s", text="t", userIds=[user["id"]])
    worker = make_worker(
        smtp_port=secure_sink.port,
        smtp_security=secure_sink.security,  # type: ignore[attr-defined]
        smtp_username=USER,
        smtp_password=SecretStr("wrong"),
        smtp_ca_file=ca_file,
        worker_max_attempts=2,
    )
    await drain(worker)
    [delivery] = (
        await client.get(f"/api/v1/campaigns/{accepted['campaignId']}/deliveries")
    ).json()["items"]
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 2
    assert "cannot connect" in delivery["lastError"]
    assert "535" in delivery["lastError"]
    assert secure_sink.handler.count == 0


async def test_an_untrusted_certificate_is_refused(
    client: httpx.AsyncClient, secure_sink: SmtpSink, make_worker: Callable[..., DeliveryWorker]
) -> None:
    user = await create_user(client)
    await send_campaign(client, subject="s", text="t", userIds=[user["id"]])
    worker = make_worker(
        smtp_port=secure_sink.port,
        smtp_security=secure_sink.security,  # type: ignore[attr-defined]
        smtp_username=USER,
        smtp_password=SecretStr(PASSWORD),
        worker_max_attempts=1,
    )
    await drain(worker)
    assert secure_sink.handler.count == 0
