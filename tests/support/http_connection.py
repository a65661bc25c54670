"""Real HTTP/1.1 for the tests that care about the connection itself: one
keep-alive connection reused for every request, a uvicorn server run inside
the test's event loop, and a TCP proxy that can take a database away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
import uvicorn
from starlette.types import ASGIApp

from eventcrm.cli import SERVER_OPTIONS


class ConnectionDropped(AssertionError):
    """The server closed the connection instead of (or after) answering."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAliveConnection:
    """One TCP connection that every request goes through, in turn; a request
    fails with ``ConnectionDropped`` if the server closed it (or announced it
    would with ``Connection: close``)."""

    def __init__(self, base_url: str, *, headers: Iterable[tuple[str, str]] = ()) -> None:
        #: Sent with every request (an Authorization header).
        self.default_headers = list(headers)
        url = urlsplit(base_url)
        self.host = url.netloc
        assert url.hostname is not None
        assert url.port is not None
        self._sock = socket.create_connection((url.hostname, url.port), timeout=60)
        self._conn = h11.Connection(h11.CLIENT)
        self.requests = 0

    def request(
        self,
        method: str,
        target: str,
        *,
        json_body: Any = None,
        body: bytes = b"",
        chunks: Iterable[bytes] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Reply:
        if self._conn.our_state is h11.DONE:
            if self._conn.their_state is not h11.DONE:
                raise ConnectionDropped(f"the server ended the connection: {self._conn.states}")
            self._conn.start_next_cycle()
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers = [*headers, ("content-type", "application/json")]
        framing = ("transfer-encoding", "chunked") if chunks is not None else None
        framing = framing or ("content-length", str(len(body)))
        all_headers = [("host", self.host), framing, *self.default_headers, *headers]
        self._send(h11.Request(method=method, target=target, headers=all_headers))
        try:
            for chunk in chunks if chunks is not None else ([body] if body else []):
                self._send(h11.Data(data=chunk))
            self._send(h11.EndOfMessage())
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ConnectionDropped(f"the server closed the connection mid-request: {exc}") from exc
        reply = self._receive()
        self.requests += 1
        if self._conn.their_state is h11.MUST_CLOSE:
            raise ConnectionDropped(f"the server closes the connection after {reply}")
        return reply

    def _send(self, event: h11.Event) -> None:
        data = self._conn.send(event)
        if data:
            self._sock.sendall(data)

    def _receive(self) -> Reply:
        response: h11.Response | None = None
        body = bytearray()
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = self._sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                self._conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionDropped(f"no answer to request #{self.requests + 1}")
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                headers = {k.decode().lower(): v.decode() for k, v in response.headers}
                return Reply(response.status_code, headers, bytes(body))

    def close(self) -> None:
        self._sock.close()


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` behind uvicorn, as ``eventcrm serve`` configures it, on a free
    port in this event loop; yields the base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        access_log=False,
        ws="none",
        **SERVER_OPTIONS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``. ``stop`` refuses new connections
    and cuts the established ones, as a database outage does; ``start`` again
    listens on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        await self._server.wait_closed()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, upstream_writer}
        pipes = (
            asyncio.create_task(_pipe(reader, upstream_writer)),
            asyncio.create_task(_pipe(upstream_reader, writer)),
        )
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for w in (writer, upstream_writer):
                self._links.discard(w)
                w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
