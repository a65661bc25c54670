"""eventcrm.lambda_handler invoked the way AWS invokes it: API Gateway REST (v1) and HTTP
API (v2) proxy events and an EventBridge scheduled event, as AWS documents them
(tests/deploy/events/), with the API key in the Authorization header and the file
outbox as the email provider.

Every test runs once per entry of ``LAMBDA_STORAGES`` (the storage behind the
functions, by its EVENTCRM_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import email
import email.policy
import json
import os
import threading
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from eventcrm import lambda_handler
from eventcrm.bootstrap import (
    build_backend_storage,
    build_container,
    build_mail_sender,
    build_worker,
    migrate,
)
from eventcrm.lambda_handler import (
    BACKLOG_AGE_METRIC,
    METRICS_NAMESPACE,
    TIMEOUT_RESERVE_SECONDS,
    ExecutionEnvironment,
    SecretsError,
    anything_due_now,
    drain,
    load_secrets,
)
from eventcrm.mail.message import Mailbox
from eventcrm.mail.ports import MailConnection, MailSender
from eventcrm.settings import Settings
from tests.conftest import GENEROUS_LIMITS_ENV
from tests.support.auth import ADMIN_HEADERS, seed_admin_key

EVENTS = Path(__file__).parent / "events"
SECRET_KEY = "lambda-test-secret-key-0123456789"


def prepared_sqlite(root: Path) -> str:
    """A migrated SQLite file."""
    url = f"sqlite+aiosqlite:///{root / 'lambda.db'}"
    migrate(Settings(database_url=url, data_dir=root, secret_key=SECRET_KEY))
    return url


def prepared_dynamodb(root: Path) -> str:
    """A new table (with its indexes) on the session's moto server."""
    url = f"dynamodb://lambda-{uuid.uuid4().hex[:12]}"
    migrate(Settings(database_url=url, data_dir=root, secret_key=SECRET_KEY))
    return url


#: The storages the Lambda functions are tested on: name → a function that prepares an
#: empty, ready database under a temporary directory and returns its
#: EVENTCRM_DATABASE_URL. DynamoDB runs on moto's server (the ``dynamodb_endpoint``
#: session fixture points the AWS variables at it), as the functions run on AWS.
LAMBDA_STORAGES: dict[str, Callable[[Path], str]] = {
    "sqlite": prepared_sqlite,
    "dynamodb": prepared_dynamodb,
}


@dataclass(frozen=True)
class Context:
    """The Lambda context object's part the handlers read."""

    function_name: str = "eventcrm-api"
    remaining_millis: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    outbox: Path


@pytest.fixture(params=sorted(LAMBDA_STORAGES))
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """The functions' environment variables, as the CDK stack sets them, over a fresh
    database holding the test administrator key; the module's execution environment
    is closed afterwards (the next test is a cold start)."""
    if request.param == "dynamodb":
        request.getfixturevalue("dynamodb_endpoint")
    url = LAMBDA_STORAGES[request.param](tmp_path)
    for name in [n for n in os.environ if n.startswith("EVENTCRM_")]:
        monkeypatch.delenv(name)
    variables = {
        "EVENTCRM_DATABASE_URL": url,
        "EVENTCRM_SECRET_KEY": SECRET_KEY,
        "EVENTCRM_DATA_DIR": str(tmp_path),
        "EVENTCRM_EMAIL_PROVIDER": "file",
        "EVENTCRM_OUTBOX_DIR": str(tmp_path / "outbox"),
        "EVENTCRM_PUBLIC_URL": "https://api.example.org",
        "EVENTCRM_LOG_LEVEL": "WARNING",
        **GENEROUS_LIMITS_ENV,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    asyncio.run(_seed_admin(settings))
    try:
        yield Deployment(settings, tmp_path / "outbox")
    finally:
        lambda_handler.environment.close()


async def _seed_admin(settings: Settings) -> None:
    storage = build_backend_storage(settings)
    try:
        await seed_admin_key(storage)
    finally:
        await storage.close()


# --- API Gateway events ----------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


class Gateway:
    """Builds API Gateway proxy events from the documented samples and invokes
    ``lambda_handler.handler`` with them."""

    def __init__(self, payload: str, headers: dict[str, str]) -> None:
        self.payload = payload
        self.headers = headers
        self.template = json.loads((EVENTS / f"{payload}.json").read_text())

    def event(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = copy.deepcopy(self.template)
        headers = dict(self.headers)
        body = None
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        if self.payload == "api_gateway_rest_v1":
            event["httpMethod"] = event["requestContext"]["httpMethod"] = method
            event["path"] = path
            event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
            event["pathParameters"] = {"proxy": path.lstrip("/")}
            event["headers"].update(headers)
            event["multiValueHeaders"].update({k: [v] for k, v in headers.items()})
            if query:
                event["queryStringParameters"] = query
                event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        else:
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
            event["requestContext"]["http"]["method"] = method
            event["headers"].update({k.lower(): v for k, v in headers.items()})
            event["headers"]["content-length"] = str(len(body or ""))
            if query:
                event["rawQueryString"] = urllib.parse.urlencode(query)
                event["queryStringParameters"] = query
        event["body"] = body
        return event

    def __call__(self, method: str, path: str, **kwargs: Any) -> Reply:
        answer = lambda_handler.handler(self.event(method, path, **kwargs), Context())
        raw = answer["body"]
        if answer["isBase64Encoded"]:
            raw = base64.b64decode(raw).decode()
        headers = {k.lower(): v for k, v in answer["headers"].items()}
        for name, values in answer.get("multiValueHeaders", {}).items():
            headers[name.lower()] = ", ".join(values)
        body = json.loads(raw) if "json" in headers.get("content-type", "") else raw
        return Reply(answer["statusCode"], headers, body)


PAYLOADS = ("api_gateway_rest_v1", "http_api_v2")


@pytest.fixture(params=PAYLOADS)
def api(request: pytest.FixtureRequest, deployment: Deployment) -> Gateway:
    """An administrator calling through API Gateway (the key in Authorization)."""
    return Gateway(request.param, dict(ADMIN_HEADERS))


def scheduled(remaining_millis: int = 60_000) -> tuple[dict[str, Any], Context]:
    event = json.loads((EVENTS / "eventbridge_scheduled.json").read_text())
    return event, Context(function_name="eventcrm-worker", remaining_millis=remaining_millis)


def outbox_messages(outbox: Path) -> list[EmailMessage]:
    files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]


def created(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def new_user(api: Gateway, n: int) -> dict[str, Any]:
    body = {"firstName": f"Ada{n}", "lastName": "Lovelace", "email": f"ada{n}@example.org"}
    return created(api("POST", "/api/v1/users", json_body=body))


def new_event(api: Gateway, capacity: int) -> dict[str, Any]:
    body = {
        "title": "Lambda Day",
        "startAt": "2031-05-01T09:00:00Z",
        "endAt": "2031-05-01T17:00:00Z",
        "capacity": capacity,
    }
    return created(api("POST", "/api/v1/events", json_body=body))


def campaign_to(api: Gateway, event_id: str, subject: str) -> dict[str, Any]:
    campaign = created(
        api(
            "POST",
            "/api/v1/campaigns",
            json_body={
                "name": subject,
                "subject": subject,
                "text": "Hello {{ user.firstName }}",
                "audience": {"eventId": event_id},
            },
        )
    )
    sent = api("POST", f"/api/v1/campaigns/{campaign['id']}/send")
    assert sent.status == 202, sent.body
    return campaign


# --- the API ---------------------------------------------------------------------------


def test_create_list_register_until_full_and_send_a_campaign(
    api: Gateway, deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    users = [new_user(api, n) for n in range(3)]
    event = new_event(api, capacity=2)

    listed = api("GET", "/api/v1/events", query={"limit": "10"})
    assert listed.status == 200
    assert [e["id"] for e in listed.body["items"]] == [event["id"]]
    assert listed.headers["content-type"] == "application/json"

    statuses = [
        created(
            api(
                "POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": u["id"]}
            )
        )["status"]
        for u in users
    ]
    assert statuses == ["registered", "registered", "waitlisted"]
    seats = api("GET", f"/api/v1/events/{event['id']}").body
    assert (seats["registeredCount"], seats["waitlistCount"]) == (2, 1)

    campaign = campaign_to(api, event["id"], subject="See you at Lambda Day")
    capsys.readouterr()

    event_body, context = scheduled()
    drained = lambda_handler.worker_handler(event_body, context)

    assert drained["stopped"] == "idle"
    # One file per delivery sent: the campaign's two, and any notices registering queued.
    assert drained["sent"] == len(outbox_messages(deployment.outbox)) >= 2
    to_campaign = [
        m for m in outbox_messages(deployment.outbox) if m["Subject"] == "See you at Lambda Day"
    ]
    assert sorted(m["To"].addresses[0].addr_spec for m in to_campaign) == [
        "ada0@example.org",
        "ada1@example.org",
    ]
    read = api("GET", f"/api/v1/campaigns/{campaign['id']}").body
    assert read["status"] == "completed"
    # The worker's CloudWatch metrics: one Embedded Metric Format line.
    (metrics,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE
    assert metrics["FunctionName"] == "eventcrm-worker"
    assert metrics["DeliveriesSent"] == drained["sent"]
    assert metrics[BACKLOG_AGE_METRIC] == 0


def test_a_second_scheduled_run_sends_nothing_again(api: Gateway, deployment: Deployment) -> None:
    users = [new_user(api, n) for n in range(2)]
    event = new_event(api, capacity=5)
    for user in users:
        api("POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": user["id"]})
    campaign_to(api, event["id"], subject="Once")
    first = lambda_handler.worker_handler(*scheduled())
    again = lambda_handler.worker_handler(*scheduled())
    assert first["sent"] >= 2
    assert (again["handled"], again["sent"]) == (0, 0)


def test_a_request_without_the_api_key_is_refused(deployment: Deployment) -> None:
    for payload in PAYLOADS:
        reply = Gateway(payload, {})("GET", "/api/v1/users")
        assert reply.status == 401
        assert reply.headers["content-type"] == "application/problem+json"


def test_bad_input_is_a_problem_not_a_server_error(api: Gateway) -> None:
    reply = api("POST", "/api/v1/users", json_body={"firstName": "", "email": "not-an-address"})
    assert reply.status == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.body["status"] == 422


def test_health_answers_through_the_gateway(api: Gateway) -> None:
    reply = api("GET", "/health/ready")
    assert reply.status == 200
    assert reply.body == {"status": "ok", "database": "ok"}


def test_the_app_is_built_and_started_once_per_environment(
    api: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    import eventcrm.app

    built: list[object] = []
    started: list[object] = []
    original = eventcrm.app.create_app

    def counting(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        built.append(app)
        lifespan = app.router.lifespan_context

        @asynccontextmanager
        async def counted(app: Any) -> AsyncIterator[Any]:
            started.append(app)
            async with lifespan(app) as state:
                yield state

        app.router.lifespan_context = counted
        return app

    monkeypatch.setattr(eventcrm.app, "create_app", counting)
    for n in range(3):
        new_user(api, n)
    assert api("GET", "/api/v1/users").status == 200
    # Mangum's own lifespan support would start (and stop) the app around every request.
    assert (len(built), len(started)) == (1, 1)


# --- the scheduled worker --------------------------------------------------------------


def test_the_worker_claims_nothing_when_the_remaining_time_is_too_short(
    api: Gateway, deployment: Deployment
) -> None:
    users = [new_user(api, n) for n in range(2)]
    event = new_event(api, capacity=5)
    for user in users:
        api("POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": user["id"]})
    campaign = campaign_to(api, event["id"], subject="Later")

    too_short = int(TIMEOUT_RESERVE_SECONDS * 1000)
    result = lambda_handler.worker_handler(*scheduled(remaining_millis=too_short))
    assert result["stopped"] == "no_time"
    assert result["handled"] == 0
    queued = api("GET", f"/api/v1/campaigns/{campaign['id']}/deliveries").body["items"]
    assert {d["status"] for d in queued} == {"queued"}

    later = lambda_handler.worker_handler(*scheduled())
    assert later["stopped"] == "idle"
    sent = api("GET", f"/api/v1/campaigns/{campaign['id']}/deliveries").body["items"]
    assert {d["status"] for d in sent} == {"sent"}


def test_overlapping_invocations_never_send_a_delivery_twice(
    api: Gateway, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two execution environments (two concurrent invocations), one batch per delivery.
    monkeypatch.setenv("EVENTCRM_WORKER_BATCH_SIZE", "1")
    users = [new_user(api, n) for n in range(8)]
    event = new_event(api, capacity=8)
    for user in users:
        api("POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": user["id"]})
    campaign = campaign_to(api, event["id"], subject="Overlap")
    environments = [ExecutionEnvironment(), ExecutionEnvironment()]
    results: list[dict[str, Any]] = []
    start = threading.Barrier(len(environments))

    def invoke(environment: ExecutionEnvironment) -> None:
        start.wait()
        results.append(environment.work(*scheduled()))

    threads = [threading.Thread(target=invoke, args=(e,)) for e in environments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for environment in environments:
        environment.close()

    assert len(results) == 2
    deliveries = api("GET", f"/api/v1/campaigns/{campaign['id']}/deliveries").body["items"]
    assert len(deliveries) == 8
    assert {d["status"] for d in deliveries} == {"sent"}
    assert all(d["attempts"] == 1 for d in deliveries)
    # Registration notices may be sent too; each delivery is handled by one invocation.
    assert sum(r["handled"] for r in results) == sum(r["sent"] for r in results)
    total = sum(r["handled"] for r in results)
    assert total == len(list(deployment.outbox.glob("*.eml")))


def test_draining_stops_between_batches_when_the_next_might_not_fit(
    api: Gateway, deployment: Deployment
) -> None:
    users = [new_user(api, n) for n in range(5)]
    event = new_event(api, capacity=5)
    for user in users:
        api("POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": user["id"]})
    # Whatever the registrations queued (notices) goes first: then the campaign's five
    # deliveries are all that is due.
    lambda_handler.worker_handler(*scheduled())
    campaign_to(api, event["id"], subject="Budget")
    # Each reading of this clock is 5 s after the previous one: a batch "takes" 5 s.
    readings = iter(range(0, 1000, 5))
    settings = deployment.settings.model_copy(update={"worker_batch_size": 2})

    async def run() -> lambda_handler.Drained:
        container = build_container(settings)
        try:
            return await drain(build_worker(container), budget=25, clock=lambda: next(readings))
        finally:
            await container.storage.close()

    result = asyncio.run(run())
    # Began at 5 (20 left, slowest 0) and at 15 (10 left, slowest 5: 10 >= 2 x 5);
    # at 25 nothing is left for a 5 s batch.
    assert (result.stopped, result.batches, result.handled) == ("budget", 2, 4)


class CountingSender:
    """The file outbox, counting the connections opened to it."""

    def __init__(self, inner: MailSender) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_batch = inner.max_batch
        self.opened = 0

    def connect(self) -> AbstractAsyncContextManager[MailConnection]:
        self.opened += 1
        return self.inner.connect()


def test_an_idle_run_opens_no_connection_to_the_provider(
    api: Gateway, deployment: Deployment
) -> None:
    settings = deployment.settings
    sender = CountingSender(build_mail_sender(settings, Mailbox.parse(settings.email_from)))

    async def run() -> lambda_handler.Drained:
        container = build_container(settings, mail=sender)
        try:
            return await drain(
                build_worker(container),
                budget=30,
                anything_due=lambda: anything_due_now(container),
            )
        finally:
            await container.storage.close()

    idle = asyncio.run(run())
    assert (idle.stopped, idle.handled, sender.opened) == ("idle", 0, 0)

    user = new_user(api, 1)
    event = new_event(api, capacity=5)
    api("POST", f"/api/v1/events/{event['id']}/registrations", json_body={"userId": user["id"]})
    campaign_to(api, event["id"], subject="Due")
    busy = asyncio.run(run())
    assert busy.sent >= 1
    assert sender.opened == settings.worker_concurrency


# --- secrets ---------------------------------------------------------------------------


STORE = {
    ("secretsmanager", "eventcrm/secret-key"): "from-secrets-manager-0123456789",
    ("secretsmanager", "eventcrm/smtp"): json.dumps({"password": "p4ss", "user": "u"}),
    ("ssm", "/eventcrm/sendgrid-api-key"): "SG.from-ssm",
}


def fetch(service: str, name: str) -> str:
    return STORE[(service, name)]


def test_named_secrets_are_put_into_the_environment() -> None:
    environ = {
        "EVENTCRM_AWS_SECRETS": json.dumps(
            {
                "EVENTCRM_SECRET_KEY": "secretsmanager:eventcrm/secret-key",
                "EVENTCRM_SMTP_PASSWORD": "secretsmanager:eventcrm/smtp#password",
                "EVENTCRM_SENDGRID_API_KEY": "ssm:/eventcrm/sendgrid-api-key",
            }
        )
    }
    assert load_secrets(environ, fetch) == 3
    assert environ["EVENTCRM_SECRET_KEY"] == "from-secrets-manager-0123456789"
    assert environ["EVENTCRM_SMTP_PASSWORD"] == "p4ss"
    assert environ["EVENTCRM_SENDGRID_API_KEY"] == "SG.from-ssm"


def test_without_named_secrets_nothing_is_fetched() -> None:
    def refuse(service: str, name: str) -> str:
        raise AssertionError("nothing should be fetched")

    assert load_secrets({}, refuse) == 0


@pytest.mark.parametrize(
    "spec",
    [
        "not json",
        '["EVENTCRM_SECRET_KEY"]',
        '{"EVENTCRM_SECRET_KEY": "vault:x"}',
        '{"EVENTCRM_SECRET_KEY": "ssm:"}',
        '{"EVENTCRM_SECRET_KEY": 42}',
        '{"EVENTCRM_SMTP_PASSWORD": "secretsmanager:eventcrm/smtp#missing"}',
    ],
)
def test_a_malformed_secret_list_is_refused(spec: str) -> None:
    with pytest.raises(SecretsError):
        load_secrets({"EVENTCRM_AWS_SECRETS": spec}, fetch)
