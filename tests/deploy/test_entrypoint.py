"""The image's entry commands, run outside a container: the very script the Dockerfile
installs as its ENTRYPOINT (deploy/docker/entrypoint.sh), on a SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.serve import STARTUP_TIMEOUT_SECONDS, free_port, without_eventcrm_settings

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
DOCKERFILE = ROOT / "Dockerfile"
#: Where the Dockerfile installs the script, and the name every command uses.
INSTALLED_AS = "/usr/local/bin/eventcrm-entrypoint"


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """What the image sets (Dockerfile ENV), pointed at a temporary directory; the
    venv's bin/ first on PATH, as /opt/eventcrm/bin is in the image."""
    env = without_eventcrm_settings()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "PORT": str(free_port()),
            # The image binds 0.0.0.0; a test listens on the loopback only.
            "HOST": "127.0.0.1",
            "EVENTCRM_DATA_DIR": str(tmp_path),
            "EVENTCRM_OUTBOX_DIR": str(tmp_path / "outbox"),
            "EVENTCRM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'eventcrm.db'}",
            "EVENTCRM_LOG_FORMAT": "json",
        }
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_SECONDS,
        check=False,
    )


@dataclass(frozen=True)
class Served:
    base_url: str
    pid: int


@pytest.fixture
def served(environment: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    """The image's default command (CMD ["serve"]) running."""
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", str(ENTRYPOINT), "serve"], env=environment, stdout=out, stderr=out
        )
    base_url = f"http://127.0.0.1:{environment['PORT']}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the entry point exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready in time:\n{log.read_text()}")
            time.sleep(0.1)
        yield Served(base_url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_answers_ready_on_the_configured_port(served: Served) -> None:
    reply = httpx.get(f"{served.base_url}/health/ready", timeout=5)
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "database": "ok"}


def test_healthcheck_passes_while_the_server_is_ready(
    served: Served, environment: dict[str, str]
) -> None:
    result = run(environment, "healthcheck")
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_when_nothing_answers(environment: dict[str, str]) -> None:
    result = run(environment, "healthcheck")
    assert result.returncode != 0
    assert "Connection refused" in result.stderr or "URLError" in result.stderr


def test_serve_replaces_the_shell_so_it_receives_the_stop_signal(served: Served) -> None:
    # `exec` in the script: the server is the process the container started, so
    # `docker stop`'s SIGTERM reaches uvicorn. A shell left in between would not pass it on.
    argv = Path(f"/proc/{served.pid}/cmdline").read_bytes().split(b"\0")
    assert b"serve" in argv
    assert Path(argv[0].decode()).name != "sh"
    assert str(ENTRYPOINT).encode() not in argv


def test_migrate_creates_the_schema_and_exits(environment: dict[str, str], tmp_path: Path) -> None:
    result = run(environment, "migrate")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "eventcrm.db") as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "events", "deliveries", "alembic_version"} <= tables


def test_worker_runs_and_stops_when_idle(environment: dict[str, str]) -> None:
    assert run(environment, "migrate").returncode == 0
    result = run(environment, "worker", "--until-idle")
    assert result.returncode == 0, result.stderr
    # The JSON log lines (stderr) of the worker's own logger.
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines if line["logger"] == "eventcrm.worker.runner"]
    assert events == ["worker_started", "worker_stopped"]


def test_any_other_command_goes_to_the_cli(environment: dict[str, str]) -> None:
    result = run(environment, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("eventcrm ")


def test_an_unknown_command_fails_with_the_cli_usage(environment: dict[str, str]) -> None:
    result = run(environment, "no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in instructions]


def test_the_dockerfile_installs_and_runs_this_script() -> None:
    instructions = dockerfile_instructions()
    copies = [args.split() for name, args in instructions if name == "COPY"]
    assert ["--chmod=0755", "deploy/docker/entrypoint.sh", INSTALLED_AS] in copies
    final = instructions[max(i for i, (name, _) in enumerate(instructions) if name == "FROM") :]
    last = dict(final)
    command = Path(INSTALLED_AS).name
    assert json.loads(last["ENTRYPOINT"]) == [command]
    assert json.loads(last["CMD"]) == ["serve"]
    assert last["HEALTHCHECK"].split("CMD", 1)[1].strip() == json.dumps([command, "healthcheck"])
    assert last["USER"].split(":")[0] != "0"


def test_the_build_context_includes_the_script() -> None:
    kept = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!deploy/docker/entrypoint.sh" in kept
