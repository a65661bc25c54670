"""``eventcrm serve`` as a user starts it, in a subprocess, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def without_eventcrm_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}


def eventcrm_command() -> list[str]:
    """The installed ``eventcrm`` script beside this Python (or the module)."""
    script = Path(sys.executable).with_name("eventcrm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "eventcrm"]


@dataclass
class Server:
    base_url: str
    workdir: Path
    stderr: Path
    stdout: Path
    process: subprocess.Popen[bytes]

    @property
    def first_key(self) -> str:
        """The administrator key the first start printed (its last line)."""
        return self.stdout.read_text().strip().splitlines()[-1]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.first_key}"}


@contextmanager
def running_server(workdir: Path) -> Iterator[Server]:
    """``eventcrm serve`` on a free port in ``workdir``, with no EVENTCRM_ settings: the
    embedded SQLite database, the file outbox and the worker inside, under ./var/."""
    stderr = workdir.parent / f"{workdir.name}-stderr.log"
    stdout = workdir.parent / f"{workdir.name}-stdout.log"
    port = free_port()
    command = [*eventcrm_command(), "serve", "--port", str(port)]
    with stderr.open("wb") as err, stdout.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=without_eventcrm_settings(), stdout=out, stderr=err
        )
    try:
        server = Server(f"http://127.0.0.1:{port}", workdir, stderr, stdout, process)
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"eventcrm serve exited early:\n{server.stderr.read_text()}")
        try:
            if httpx.get(f"{server.base_url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"eventcrm serve was not ready in time:\n{server.stderr.read_text()}")
