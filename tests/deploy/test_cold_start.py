"""What a Lambda cold start imports (docs/deploy.md): each function loads only what it
uses. Checked in a fresh interpreter by the modules it ends up with, not by time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def modules_after(statement: str) -> set[str]:
    program = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(f"{package}.") for m in modules)


def test_loading_the_handler_module_imports_only_the_standard_library() -> None:
    modules = modules_after("import eventcrm.lambda_handler")
    for package in ("eventcrm.app", "eventcrm.bootstrap", "fastapi", "mangum", "sqlalchemy"):
        assert not loaded(modules, package), package


@pytest.mark.parametrize("package", ["alembic", "eventcrm.worker.runner", "aiolimiter"])
def test_the_api_does_not_load_what_only_migrations_or_the_worker_need(package: str) -> None:
    modules = modules_after("import eventcrm.app, mangum")
    assert loaded(modules, "fastapi")
    assert not loaded(modules, package)


def test_the_worker_does_not_load_the_http_layer() -> None:
    # Starlette itself does load: the event cache's library (cashews) imports its
    # Starlette helpers whenever Starlette is installed. FastAPI and the app do not.
    modules = modules_after("import eventcrm.bootstrap, eventcrm.worker.runner")
    for package in ("fastapi", "mangum", "eventcrm.app", "alembic"):
        assert not loaded(modules, package), package
