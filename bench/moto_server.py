"""moto's DynamoDB-compatible server on a free local port, answering one request at a time.

moto checks a ConditionExpression and then applies the write without a lock, and
its threaded server handles each request in its own thread, so two concurrent
conditional writes to one item could both succeed. DynamoDB applies each write
atomically; serialising moto's requests restores that guarantee. The figures a
benchmark measures here are moto's, not AWS's.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.threaded_moto_server import (  # type: ignore[attr-defined]
    MotoRequestHandler,
)
from moto.server import (  # type: ignore[attr-defined]
    DomainDispatcherApplication,
    ThreadedMotoServer,
    create_backend_app,
)
from werkzeug.serving import make_server

AWS_VARIABLES = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


class SerialMotoServer(ThreadedMotoServer):
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_dynamodb() -> Iterator[str]:
    """A running server, and the AWS variables pointing at it while the block runs."""
    port = free_port()
    server = SerialMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in AWS_VARIABLES}
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
