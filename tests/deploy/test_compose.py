"""compose.yaml: valid under the Compose specification (the JSON schema check-jsonschema
ships, so the check runs offline), and wired the way docs/deploy.md describes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventcrm.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
#: The services built from this repository's Dockerfile.
EVENTCRM_SERVICES = ("migrate", "api", "worker")


def check_jsonschema() -> str:
    beside = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[dev]' brings it")
    return found


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_the_compose_file_is_valid_under_the_compose_specification() -> None:
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_an_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text(
        "services:\n  api:\n    image: x\n"
        "    depends_on:\n      db:\n        condition: when_ready\n"
    )
    result = validate(bad)
    assert result.returncode != 0


def test_every_dependency_waits_for_health_or_completion(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            condition = rule["condition"]
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test"), (name, target)
                assert not check.get("disable"), (name, target)
            else:
                assert condition == "service_completed_successfully", (name, target)
                assert services[target]["restart"] == "no", target


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_migrations_run_once_before_the_api_and_the_worker(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("api", "worker"):
        rule = services[name]["depends_on"]["migrate"]
        assert rule == {"condition": "service_completed_successfully"}, name
    # Nothing else migrates: the API servers are told not to.
    assert "--no-migrate" in services["api"]["command"]


def test_the_api_leaves_sending_to_the_worker_and_can_be_replicated(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    assert api["command"][0] == "serve"
    assert "--no-worker" in api["command"]
    assert services["worker"]["command"] == ["worker"]
    # No host port on the api: replicas would collide. The proxy publishes one.
    assert "ports" not in api
    assert "replicas" in api["deploy"]
    assert services["proxy"]["depends_on"]["api"] == {"condition": "service_healthy"}


def test_the_app_services_run_the_image_of_this_repository(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in EVENTCRM_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["healthcheck"] is not None


def test_configuration_is_environment_variables_only(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name, service in services.items():
        assert "env_file" not in service, name
    environment = services["api"]["environment"]
    assert environment["EVENTCRM_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environment["EVENTCRM_REDIS_URL"] == "redis://redis:6379/0"
    # Required, never defaulted: replicas must share one key.
    assert environment["EVENTCRM_SECRET_KEY"].startswith("${EVENTCRM_SECRET_KEY:?")
    for name in EVENTCRM_SERVICES:
        assert (
            services[name]["environment"]["EVENTCRM_DATABASE_URL"]
            == (environment["EVENTCRM_DATABASE_URL"])
        )


def test_development_mail_goes_to_the_mail_catcher(services: dict[str, dict[str, Any]]) -> None:
    environment = services["worker"]["environment"]
    assert environment["EVENTCRM_EMAIL_PROVIDER"] == "${EVENTCRM_EMAIL_PROVIDER:-smtp}"
    assert environment["EVENTCRM_SMTP_HOST"] == "${EVENTCRM_SMTP_HOST:-mailpit}"
    assert "mailpit" in services


def test_the_app_services_name_only_real_settings(services: dict[str, dict[str, Any]]) -> None:
    known = {f"EVENTCRM_{field.upper()}" for field in Settings.model_fields}
    for name in EVENTCRM_SERVICES:
        given = {n for n in services[name]["environment"] if n.startswith("EVENTCRM_")}
        assert given <= known, (name, given - known)
