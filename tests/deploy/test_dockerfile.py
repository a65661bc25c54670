"""The Dockerfile lints clean with hadolint (installed from PyPI by the dev extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install -e '.[dev]' brings it")
    return found


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
