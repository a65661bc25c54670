"""deploy/systemd: the units verify with systemd-analyze, run commands the CLI accepts,
and read only settings that exist."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from eventcrm.cli import app
from eventcrm.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_CLI = "/opt/eventcrm/bin/eventcrm"
UNIT_NAMES = ("eventcrm-migrate.service", "eventcrm-api.service", "eventcrm-worker@.service")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        message = "systemd-analyze is not installed (Debian: apt-get install systemd)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: the units must be verified)", pytrace=False)
        pytest.skip(message)
    return found


def test_the_units_verify_clean(tmp_path: Path) -> None:
    # The units as installed, except that the CLI is this environment's.
    cli = str(Path(sys.executable).with_name("eventcrm"))
    for name in UNIT_NAMES:
        (tmp_path / name).write_text((UNITS / name).read_text().replace(INSTALLED_CLI, cli))
    result = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", *(str(tmp_path / n) for n in UNIT_NAMES)],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # A value systemd does not understand is only a warning: none may be printed.
    assert result.stdout + result.stderr == ""


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_each_unit_runs_a_command_the_cli_accepts(name: str) -> None:
    argv = shlex.split(unit(name)["Service"]["ExecStart"])
    assert argv[0] == INSTALLED_CLI
    # The click command tree typer builds (typer bundles its own click: no isinstance).
    command: Any = typer.main.get_command(app)
    args = argv[1:]
    while hasattr(command, "commands"):
        assert args[0] in command.commands, f"{name}: no command {args[0]!r}"
        command, args = command.commands[args[0]], args[1:]
    # Parses (and type-checks) the options without running the command.
    context = command.make_context(argv[1], list(args))
    assert context.params is not None


def test_the_api_and_the_worker_start_after_the_migrations() -> None:
    assert unit("eventcrm-migrate.service")["Service"]["Type"] == "oneshot"
    for name in ("eventcrm-api.service", "eventcrm-worker@.service"):
        section = unit(name)["Unit"]
        assert "eventcrm-migrate.service" in section["Requires"].split()
        assert "eventcrm-migrate.service" in section["After"].split()
    serve = shlex.split(unit("eventcrm-api.service")["Service"]["ExecStart"])
    assert {"--no-migrate", "--no-worker"} <= set(serve)
    assert serve[serve.index("--host") + 1] == "127.0.0.1"  # only the proxy reaches it


def test_every_unit_runs_unprivileged_from_the_same_environment_file() -> None:
    for name in UNIT_NAMES:
        service = unit(name)["Service"]
        assert service["User"] == "eventcrm"
        assert service["EnvironmentFile"] == "/etc/eventcrm/eventcrm.env"
        assert service["NoNewPrivileges"] == "true"
        assert service["ProtectSystem"] == "strict"


def test_the_example_environment_names_only_real_settings() -> None:
    names = [
        line.split("=", 1)[0]
        for line in (UNITS / "eventcrm.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    known = {f"EVENTCRM_{field.upper()}" for field in Settings.model_fields}
    eventcrm = [n for n in names if n.startswith("EVENTCRM_")]
    assert set(eventcrm) <= known, set(eventcrm) - known
    assert "EVENTCRM_DATABASE_URL" in eventcrm
    assert "EVENTCRM_SECRET_KEY" in eventcrm
