"""AWS Lambda entry points (docs/deploy.md): the HTTP API and the delivery worker.

* ``handler``: API Gateway (REST v1 or HTTP API v2 payloads) through Mangum to the
  same FastAPI app ``eventcrm serve`` runs.
* ``worker_handler``: the scheduled worker (an EventBridge rule, every minute). It
  drains due deliveries with the worker's own claim/send/record step
  (``DeliveryWorker.run_once``) until none is due or its time is spent, and always
  returns before the function's timeout. Claims are the same leases as ``eventcrm
  worker`` takes, so overlapping invocations never send one delivery twice.

An execution environment builds what it needs on its first invocation (the cold
start) and keeps it for the warm ones: one event loop for its whole life (so the
storage's connections stay usable between invocations), and either the app, whose
lifespan starts once (Mangum runs with ``lifespan="off"``: its own lifespan support
would start and stop the app around every request), or the worker.

Only the standard library is imported here: the API function imports the app and
Mangum on its first request, the worker function the composition root and the
worker, so neither pays at start-up for what only the other needs.

Secrets are read at the cold start from AWS Secrets Manager or SSM Parameter
Store when ``EVENTCRM_AWS_SECRETS`` names them: a JSON object from an environment
variable to ``secretsmanager:<id>[#<json key>]`` or ``ssm:<parameter name>``, e.g.
``{"EVENTCRM_SECRET_KEY": "secretsmanager:eventcrm/secret-key"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from eventcrm.container import Container
    from eventcrm.settings import Settings
    from eventcrm.worker.runner import DeliveryWorker

#: The variable naming the secrets to fetch at a cold start (see the module docstring).
SECRETS_VARIABLE = "EVENTCRM_AWS_SECRETS"
#: CloudWatch metrics the worker emits (Embedded Metric Format: a log line, no API call
#: and no IAM permission). deploy/cdk alarms on the backlog's age.
METRICS_NAMESPACE = "eventcrm"
METRIC_DIMENSION = "FunctionName"
BACKLOG_AGE_METRIC = "DeliveryBacklogAgeSeconds"
#: Kept free before the function's timeout: recording the last outcomes, the metrics
#: and the answer happen in it.
TIMEOUT_RESERVE_SECONDS = 3.0
#: A batch begins only while this many times the slowest batch so far still fits.
BATCH_HEADROOM = 2.0

Stopped = Literal["idle", "budget", "timeout", "no_time"]


class LambdaContext(Protocol):
    """The part of the Lambda context object these handlers read."""

    @property
    def function_name(self) -> str: ...

    def get_remaining_time_in_millis(self) -> int: ...


SecretFetcher = Callable[[str, str], str]
"""(service, id) → the secret's text; service is ``secretsmanager`` or ``ssm``."""


class SecretsError(ValueError):
    """``EVENTCRM_AWS_SECRETS`` is malformed."""


def load_secrets(environ: MutableMapping[str, str], fetch: SecretFetcher | None = None) -> int:
    """Put the secrets ``EVENTCRM_AWS_SECRETS`` names into ``environ``; returns how many."""
    spec = environ.get(SECRETS_VARIABLE, "").strip()
    if not spec:
        return 0
    try:
        wanted = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise SecretsError(f"{SECRETS_VARIABLE} is not JSON: {exc}") from None
    if not isinstance(wanted, dict):
        raise SecretsError(f"{SECRETS_VARIABLE} must be a JSON object")
    fetch = fetch or _fetch_from_aws
    for variable, reference in wanted.items():
        if not isinstance(reference, str) or ":" not in reference:
            raise SecretsError(
                f"{SECRETS_VARIABLE}: {variable} must name 'secretsmanager:<id>' or 'ssm:<name>'"
            )
        service, _, name = reference.partition(":")
        if service not in ("secretsmanager", "ssm") or not name:
            raise SecretsError(f"{SECRETS_VARIABLE}: unknown secret source {reference!r}")
        name, _, field = name.partition("#") if service == "secretsmanager" else (name, "", "")
        value = fetch(service, name)
        if field:
            document = json.loads(value)
            if not isinstance(document, dict) or field not in document:
                raise SecretsError(f"{SECRETS_VARIABLE}: the secret {name} has no key {field!r}")
            value = str(document[field])
        environ[variable] = value
    return len(wanted)


def _fetch_from_aws(service: str, name: str) -> str:  # pragma: no cover - needs AWS
    import boto3  # the Lambda runtime ships it; imported only when a secret is named

    client = boto3.client(service)
    if service == "ssm":
        return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    return str(client.get_secret_value(SecretId=name)["SecretString"])


@dataclass
class Drained:
    """What one worker invocation did (also its answer, as JSON)."""

    stopped: Stopped = "idle"
    batches: int = 0
    handled: int = 0
    sent: int = 0
    seconds: float = 0.0


async def drain(
    worker: DeliveryWorker,
    *,
    budget: float,
    clock: Callable[[], float] = time.monotonic,
    anything_due: Callable[[], Awaitable[bool]] | None = None,
) -> Drained:
    """Claim, send and record batches until none is due or ``budget`` seconds are spent.

    A batch begins only while ``BATCH_HEADROOM`` times the slowest one so far still
    fits, so the budget normally ends between batches. If a batch overruns anyway it
    is cancelled at the budget: what it had claimed stays leased to it and is claimed
    again when the lease runs out (at least once, never lost: docs/email.md).
    When ``anything_due`` says nothing is, no connection to the provider is opened
    (an SMTP login every minute for nothing).
    """
    result = Drained()
    if budget <= 0:
        result.stopped = "no_time"
        return result
    started = clock()
    deadline = started + budget
    sent_before = worker.sent
    slowest = 0.0
    timeout = asyncio.timeout(budget)
    try:
        async with timeout:
            await worker.purge_expired_keys()
            if anything_due is not None and not await anything_due():
                result.seconds = round(clock() - started, 3)
                return result
            async with worker.connections() as connections:
                while True:
                    begun = clock()
                    if deadline - begun < slowest * BATCH_HEADROOM:
                        result.stopped = "budget"
                        break
                    handled = await worker.run_once(connections)
                    slowest = max(slowest, clock() - begun)
                    if not handled:
                        break
                    result.batches += 1
                    result.handled += handled
    except TimeoutError:
        if not timeout.expired():
            raise
        result.stopped = "timeout"
    result.sent = worker.sent - sent_before
    result.seconds = round(clock() - started, 3)
    return result


class ExecutionEnvironment:
    """What one Lambda execution environment keeps between its invocations."""

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._forget()

    def _forget(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resources = AsyncExitStack()
        self._settings: Settings | None = None
        self._http: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
        self._container: Container | None = None
        self._worker: DeliveryWorker | None = None

    # --- the HTTP API ------------------------------------------------------------------

    def http(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        loop = self._event_loop()
        # Mangum runs the request on the current event loop: this environment's.
        asyncio.set_event_loop(loop)
        if self._http is None:
            self._http = self._build_http(loop)
        return self._http(event, context)

    def _build_http(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        from mangum import Mangum

        from eventcrm.app import create_app

        app = create_app(self._configuration())
        # The app's lifespan (storage statistics; closing the storage) once per
        # environment, not around every request as Mangum's own support would.
        loop.run_until_complete(
            self._resources.enter_async_context(app.router.lifespan_context(app))
        )
        mangum = Mangum(app, lifespan="off")
        return lambda event, context: mangum(event, context)

    # --- the scheduled worker ----------------------------------------------------------

    def work(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The clock starts now: building the worker on a cold start uses the budget too.
        remaining = context.get_remaining_time_in_millis() / 1000 - TIMEOUT_RESERVE_SECONDS
        started = time.monotonic()
        loop = self._event_loop()
        worker, container = self._build_worker(loop)
        settings = container.settings
        budget = min(settings.worker_time_budget_seconds, remaining) - (time.monotonic() - started)
        result = loop.run_until_complete(
            drain(worker, budget=budget, anything_due=lambda: anything_due_now(container))
        )
        backlog_age = loop.run_until_complete(_backlog_age_seconds(container))
        _emit_metrics(context.function_name, result, backlog_age)
        return {**asdict(result), "backlogAgeSeconds": backlog_age}

    def _build_worker(self, loop: asyncio.AbstractEventLoop) -> tuple[DeliveryWorker, Container]:
        if self._worker is None or self._container is None:
            from eventcrm.bootstrap import build_container, build_worker
            from eventcrm.kit.logging import configure_logging

            settings = self._configuration()
            configure_logging(level=settings.log_level, fmt=settings.log_format)
            container = build_container(settings)
            self._resources.push_async_callback(container.storage.close)
            self._resources.push_async_callback(container.authenticator.close)
            self._container = container
            self._worker = build_worker(container)
        return self._worker, self._container

    # --- the environment ---------------------------------------------------------------

    def _configuration(self) -> Settings:
        if self._settings is None:
            from eventcrm.settings import Settings

            load_secrets(self._environ)
            # A task left running between invocations would be frozen with the
            # environment: the scheduled worker function sends the mail instead.
            self._settings = Settings(embedded_worker=False)
        return self._settings

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def close(self) -> None:
        """Stop the app and close the storage (Lambda itself just freezes and ends an
        environment; tests and local runs call this)."""
        if self._loop is not None:
            self._loop.run_until_complete(self._resources.aclose())
            self._loop.close()
            asyncio.set_event_loop(None)
        self._forget()


async def anything_due_now(container: Container) -> bool:
    """Whether a delivery is due now (queued and due, or its claim's lease ran out)."""
    async with container.storage.unit_of_work(write=False) as uow:
        due = await uow.deliveries.next_due_at()
    return due is not None and due <= container.clock.now()


async def _backlog_age_seconds(container: Container) -> float:
    """How long the oldest due delivery has waited (0: nothing is overdue)."""
    async with container.storage.unit_of_work(write=False) as uow:
        due = await uow.deliveries.next_due_at()
    if due is None:
        return 0.0
    return round(max(0.0, (container.clock.now() - due).total_seconds()), 3)


def _emit_metrics(function_name: str, result: Drained, backlog_age: float) -> None:
    """One CloudWatch Embedded Metric Format record on stdout."""
    metrics = {
        "DeliveriesHandled": ("Count", result.handled),
        "DeliveriesSent": ("Count", result.sent),
        BACKLOG_AGE_METRIC: ("Seconds", backlog_age),
    }
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [[METRIC_DIMENSION]],
                    "Metrics": [
                        {"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()
                    ],
                }
            ],
        },
        METRIC_DIMENSION: function_name,
        "stopped": result.stopped,
        **{name: value for name, (_, value) in metrics.items()},
    }
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


#: This execution environment (a Lambda environment runs one invocation at a time).
environment = ExecutionEnvironment()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway (REST v1, HTTP API v2) → the FastAPI app."""
    return environment.http(event, context)


def worker_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A scheduled event → drain due deliveries within the remaining time."""
    return environment.work(event, context)
