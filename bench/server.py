"""Real server processes for the HTTP benchmarks (bench/rush.py, bench/read.py).

A fresh database (a throwaway PostgreSQL schema, dropped afterwards, or a SQLite
file in a temporary directory), migrated and given an administrator key with
the command line (``eventcrm db upgrade``, ``eventcrm keys create``), then
``eventcrm serve`` in a subprocess on a free port. Only the command line and the
HTTP API are used, so the benchmarks measure whatever the code is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

#: PostgreSQL for the benchmarks: EVENTCRM_BENCH_POSTGRES_URL, else the test suite's.
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

#: Budgets out of the way: a rush comes from one caller, one address.
GENEROUS_LIMITS_ENV = {
    "EVENTCRM_RATE_LIMIT": "100000000/minute",
    "EVENTCRM_RATE_LIMIT_REGISTRATIONS": "100000000/minute",
    "EVENTCRM_RATE_LIMIT_EMAIL": "100000000/minute",
}

STARTUP_TIMEOUT_SECONDS = 60


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, a command failed)."""


def postgres_url() -> str:
    return os.environ.get(
        "EVENTCRM_BENCH_POSTGRES_URL",
        os.environ.get("EVENTCRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventcrm_command() -> list[str]:
    """The installed ``eventcrm`` script beside this Python (or the module)."""
    script = Path(sys.executable).with_name("eventcrm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "eventcrm"]


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` command-line arguments as a mapping."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


@dataclass
class Database:
    """A fresh, migrated database: its SQLAlchemy URL, and the PostgreSQL schema or the
    SQLite file it lives in."""

    backend: str  # "postgres" or "sqlite"
    url: str
    workdir: Path
    schema: str | None = None
    path: Path | None = None
    #: The administrator key created for it (once: see ``admin_key``).
    key: str | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {
            "EVENTCRM_DATABASE_URL": self.url,
            "EVENTCRM_DATA_DIR": str(self.workdir / "data"),
            "EVENTCRM_OUTBOX_DIR": str(self.workdir / "data" / "outbox"),
            "EVENTCRM_SECRET_KEY": "bench-secret-key-0123456789",
        }
        if self.schema:
            env["EVENTCRM_DATABASE_SCHEMA"] = self.schema
        return env

    @property
    def asyncpg_dsn(self) -> str:
        """The URL for asyncpg itself (no SQLAlchemy dialect)."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def cli(self, *args: str) -> str:
        """Run ``eventcrm <args>`` on this database; its standard output."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
        env.update(self.env)
        done = subprocess.run(
            [*eventcrm_command(), *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"eventcrm {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout


def _postgres(url: str, *statements: str) -> None:
    """Run statements on their own connection (in a thread: callers may be inside a loop)."""

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[Database]:
    """A new database, migrated with ``eventcrm db upgrade``; a PostgreSQL schema is
    dropped again afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = workdir / "eventcrm.db"
        database = Database(backend, f"sqlite+aiosqlite:///{path}", workdir, path=path)
        database.cli("db", "upgrade")
        yield database
        return
    schema = f"eventcrm_bench_{uuid.uuid4().hex[:12]}"
    url = postgres_url()
    _postgres(url, f"CREATE SCHEMA {schema}")
    try:
        database = Database(backend, url, workdir, schema=schema)
        database.cli("db", "upgrade")
        yield database
    finally:
        _postgres(url, f"DROP SCHEMA {schema} CASCADE")


def admin_key(database: Database) -> str:
    """The database's administrator key, created on first use (``eventcrm keys create``
    prints it on its last line)."""
    if database.key is None:
        printed = database.cli("keys", "create", "--role", "admin", "--name", "bench")
        database.key = printed.strip().splitlines()[-1]
    return database.key


@dataclass
class Server:
    """A running server: where it listens, and its log."""

    base_url: str
    log: Path
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def _wait_until_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"the server exited early:\n{server.log.read_text()[-4000:]}")
        try:
            if httpx.get(server.base_url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the server was not ready in time:\n{server.log.read_text()[-4000:]}")


@contextmanager
def running(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    port: int,
    ready_path: str,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """Start ``command`` (a server listening on ``port``) in its own process group; stop
    the whole group afterwards (uvicorn's worker processes with it)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", log, process)
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def eventcrm_serve(
    database: Database,
    *,
    workers: int,
    extra_env: Mapping[str, str] = {},
    embedded_worker: bool = False,
    name: str = "eventcrm",
) -> Iterator[Server]:
    """``eventcrm serve --workers N`` on ``database`` with generous rate limits, its
    default logging (the per-request log line is part of the cost) into a file, and an
    administrator key in ``server.headers``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTCRM_")}
    env.update(database.env)
    env.update(GENEROUS_LIMITS_ENV)
    env.update(extra_env)
    command = [
        *eventcrm_command(),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-migrate",
        "--worker" if embedded_worker else "--no-worker",
    ]
    key = admin_key(database)
    log = database.workdir / f"{name}-{port}.log"
    with running(command, env=env, log=log, port=port, ready_path="/health/ready") as server:
        server.headers = {"Authorization": f"Bearer {key}"}
        yield server
