"""The benchmarks still run: bench/rush.py, bench/read.py and bench/request_cpu.py at
``--smoke`` size.

Only that they complete and that the rush oversold nothing are asserted, never a
timing (speed is measured in bench/, not in tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _require_postgres, postgres_url

ROOT = Path(__file__).resolve().parents[2]


def _bench(module: str, *args: str) -> str:
    env = dict(os.environ, EVENTCRM_BENCH_POSTGRES_URL=postgres_url())
    done = subprocess.run(
        [sys.executable, "-m", module, "--smoke", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_rush_benchmark_runs_and_oversells_nothing(backend: str) -> None:
    if backend == "postgres":
        _require_postgres()
    out = _bench("bench.rush", "--backend", backend)
    assert "verified 4 runs: 0 oversold, 0 with failed checks" in out
    bare = {"sqlite": "bare sqlite3", "postgres": "bare asyncpg"}[backend]
    assert f"{backend:8} on           1 eventcrm" in out
    assert f"{backend:8} off          1 {bare}" in out


def test_the_read_benchmark_runs_on_sqlite() -> None:
    out = _bench("bench.read", "--backend", "sqlite")
    for system in ("eventcrm, uncached", "bare Starlette + driver", "bare Starlette, memory"):
        assert system in out
    assert "0 bad answers" in out


def test_the_request_cpu_benchmark_runs_on_sqlite() -> None:
    out = _bench("bench.request_cpu", "--backend", "sqlite")
    for workload in ("rush", "read", "cached"):
        assert f"  {workload:7} median" in out
