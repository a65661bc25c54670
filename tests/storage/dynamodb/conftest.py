"""These tests run on DynamoDB only: a moto server on a free local port, reached
through the same aioboto3 client production uses."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from werkzeug.serving import make_server

from eventcrm.bootstrap import migrate
from eventcrm.settings import Settings
from eventcrm.storage.dynamodb.storage import DynamoStorage
from tests.conftest import GENEROUS_LIMITS


class SerialMotoServer(ThreadedMotoServer):
    """moto's server, answering one request at a time.

    moto evaluates a condition and applies the write in two steps without a lock, so
    two concurrent conditional writes can both succeed; DynamoDB applies each one
    atomically. Serialising requests gives the tests DynamoDB's guarantee."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def serial(environ: Any, start_response: Any) -> Any:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(
            self._ip_address, self._port, serial, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = SerialMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _AWS}
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_AWS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture(scope="session")
def settings(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(
        database_url=f"dynamodb://eventcrm-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path_factory.mktemp("dynamodb"),
        secret_key="test-secret-key-0123456789",
        log_level="WARNING",
        **GENEROUS_LIMITS,
    )
    migrate(settings)
    return settings


@pytest.fixture
async def storage(_session_storage: DynamoStorage) -> AsyncIterator[DynamoStorage]:
    yield _session_storage
    await _session_storage.truncate()


@pytest.fixture
def backend(settings: Settings) -> str:
    return "dynamodb"
