"""A DynamoDB-compatible server for the tests: moto's server mode, over real HTTP.

The storage under test reaches it exactly as it reaches AWS: through its own aioboto3
client, told where to go by the standard variables (``AWS_ENDPOINT_URL_DYNAMODB``, a
region, dummy credentials). Nothing patches the client in-process, so the requests,
the conditional writes and the transactions all cross the wire. Server processes the
tests start inherit the same variables.
"""

from __future__ import annotations

import copy
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Credentials moto accepts; never real ones (the tests must not reach AWS by accident).
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: Variables that could point the client at a real account instead.
AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_moto() -> None:
    """moto is a dev dependency: missing, the DynamoDB half is skipped locally and
    *fails* under CI=true (like an unreachable PostgreSQL)."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        message = f"moto[server] is not installed: {exc!r}"
        if in_ci():
            pytest.fail(message + " (CI=true: DynamoDB tests must run)", pytrace=False)
        pytest.skip(message)


class _OneRequestAtATime:
    """A WSGI app answering one request at a time.

    moto's DynamoDB has no lock of its own: two requests handled at once on the server's
    threads can interleave a condition check with another write, and a transaction that
    fails restores a copy of the whole table taken when it began, erasing what other
    requests wrote meanwhile. DynamoDB itself is atomic per item and per transaction;
    serialising the fake server's requests makes it so, and costs nothing the tests can
    notice (each request holds the lock for a few milliseconds).
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self._lock:
            # The whole response is produced under the lock (moto's are small bodies).
            return list(self._app(environ, start_response))


class _OneBackupPerTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend.

    Before a TransactWriteItems, moto deep-copies the whole table to roll back on
    failure, once per item of the transaction: copies of the same state, since nothing
    is applied until all are taken. With 100 items and a few thousand stored, that is
    seconds per transaction. Inside a transaction this hands out one copy per table;
    every other copy is the standard one. The copy kept, and so the rollback, is what
    moto would keep; only the identical duplicates are not made.
    """

    def __init__(self) -> None:
        self.backups: dict[int, Any] | None = None

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        if self.backups is None or not isinstance(obj, Table):
            return copy.deepcopy(obj, memo)
        if id(obj) not in self.backups:
            self.backups[id(obj)] = copy.deepcopy(obj, memo)
        return self.backups[id(obj)]


def _one_backup_per_table() -> None:
    """Make moto's transactions take one backup per table (see ``_OneBackupPerTable``).
    Safe because the server answers one request at a time."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if isinstance(getattr(models, "copy", None), _OneBackupPerTable):
        return
    shim = _OneBackupPerTable()
    transact = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> None:
        shim.backups = {}
        try:
            transact(self, transact_items)
        finally:
            shim.backups = None

    models.copy = shim  # type: ignore[assignment,attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


@contextmanager
def moto_server() -> Iterator[str]:
    """The test server in a process of its own (so it has a core of its own, not a
    share of the tests' interpreter), on a free local port; yields its endpoint URL.
    It stops when this block ends, or when the tests' process dies (its stdin closes)."""
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [sys.executable, "-m", "tests.support.dynamodb"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            endpoint = process.stdout.readline().strip()
            if not endpoint.startswith("http://"):
                raise RuntimeError(f"moto's server did not start (exit code {process.poll()})")
            yield endpoint
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def threaded_moto_server() -> Iterator[str]:
    """moto's threaded server on a free local port, answering one request at a time;
    yields its endpoint URL."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class SerialisedMotoServer(ThreadedMotoServer):
        # ThreadedMotoServer's own start-up, with the app wrapped in the lock.
        def _server_entry(self) -> None:
            app = _OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    _one_backup_per_table()
    # One access-log line per request would be most of the suite's output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = SerialisedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws_environment(endpoint: str) -> dict[str, str]:
    """What a process needs to reach the test server: the endpoint, a region, credentials
    moto accepts, and no configuration files that could name a real account."""
    return {
        **DUMMY_AWS_ENV,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@contextmanager
def aws_environment_set(endpoint: str) -> Iterator[None]:
    """``os.environ`` pointed at the test server for as long as the block runs (the
    storage reads it when its client is created; child processes inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_ENV_TO_CLEAR:
            patch.delenv(name, raising=False)
        for name, value in aws_environment(endpoint).items():
            patch.setenv(name, value)
        yield


def _serve_until_stdin_closes() -> None:
    with threaded_moto_server() as endpoint:
        print(endpoint, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve_until_stdin_closes()
