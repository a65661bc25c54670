"""The ``eventcrm`` command line: schema migrations, and serving on the embedded default."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from eventcrm.bootstrap import build_container
from eventcrm.cli import app
from eventcrm.settings import Settings
from eventcrm.storage.sql import migrate
from eventcrm.storage.sql.tables import metadata
from tests.support.http_connection import KeepAliveConnection, Reply
from tests.support.serve import (
    STARTUP_TIMEOUT_SECONDS,
    Server,
    eventcrm_command,
    running_server,
    without_eventcrm_settings,
)

USERS = "/api/v1/users"


def table_names(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


# --- eventcrm db ... ---------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite file that the CLI is pointed at (and nothing else: no .env, no env)."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("EVENTCRM_"):
            monkeypatch.delenv(name)
    # `serve` sets these for its server processes: whatever it sets is undone afterwards.
    for name in ("EVENTCRM_EMBEDDED_WORKER", "EVENTCRM_PUBLIC_URL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    path = tmp_path / "cli.db"
    monkeypatch.setenv("EVENTCRM_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def test_db_upgrade_creates_the_tables(database: Path) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert {"users", "alembic_version"} <= table_names(database)
    assert str(database) in result.output


def test_db_downgrade_to_base_removes_the_tables(database: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "users" not in table_names(database)


def test_db_upgrade_after_a_downgrade_restores_the_tables(database: Path) -> None:
    runner = CliRunner()
    for command in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        assert runner.invoke(app, command).exit_code == 0
    assert "users" in table_names(database)


def test_db_downgrade_needs_a_revision(database: Path) -> None:
    result = CliRunner().invoke(app, ["db", "downgrade"])
    assert result.exit_code != 0
    assert not database.exists()


@pytest.mark.parametrize("args", [["-1"], ["--", "-1"]], ids=["-1", "-- -1"])
def test_db_downgrade_minus_one_reverts_the_newest_revision(
    database: Path, args: list[str]
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["db", "downgrade", *args])
    assert result.exit_code == 0, result.output
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    previous = scripts.get_revision(head).down_revision
    assert runner.invoke(app, ["db", "current"]).output.strip() == previous


def test_db_current_shows_the_head_after_an_upgrade(database: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert result.output.strip() == f"{head} (head)"


def test_db_history_lists_every_revision(database: Path) -> None:
    result = CliRunner().invoke(app, ["db", "history"])
    assert result.exit_code == 0, result.output
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    for script in scripts.walk_revisions():
        assert f"{script.revision}, " in result.output or f"{script.revision} (head)" in (
            result.output
        )


@pytest.fixture
def migrations_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the migrations that new revisions are written into."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    return copy


@pytest.fixture
def new_table() -> Iterator[sa.Table]:
    """A table the metadata declares and no revision creates (removed afterwards)."""
    table = sa.Table("cli_probe", metadata, sa.Column("id", sa.Integer, primary_key=True))
    yield table
    metadata.remove(table)


def test_db_revision_autogenerate_writes_what_the_database_lacks(
    database: Path, migrations_copy: Path, new_table: sa.Table
) -> None:
    """A table declared in the metadata only: autogenerate writes the revision creating it."""
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert new_table.name not in table_names(database)
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()

    result = runner.invoke(app, ["db", "revision", "--autogenerate", "-m", "Make up for it"])
    assert result.exit_code == 0, result.output
    written = next((migrations_copy / "versions").glob("*_make_up_for_it.py"))
    assert f"wrote {written}" in result.output
    assert f"down_revision = {head!r}" in written.read_text()

    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert new_table.name in table_names(database)


def test_db_revision_autogenerate_writes_nothing_when_nothing_changed(
    database: Path, migrations_copy: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    before = sorted((migrations_copy / "versions").glob("*.py"))
    result = runner.invoke(app, ["db", "revision", "--autogenerate", "-m", "Nothing"])
    assert result.exit_code == 0, result.output
    assert "No changes in schema detected" in result.output
    assert sorted((migrations_copy / "versions").glob("*.py")) == before


def test_plain_alembic_command_migrates_the_configured_database(
    database: Path, repo_root: Path
) -> None:
    """`alembic upgrade head` from the repository root, the URL from EVENTCRM_DATABASE_URL."""
    alembic = Path(sys.executable).with_name("alembic")
    env = {
        **without_eventcrm_settings(),
        "EVENTCRM_DATABASE_URL": os.environ["EVENTCRM_DATABASE_URL"],
    }
    for command in (["upgrade", "head"], ["check"]):
        done = subprocess.run(
            [str(alembic), *command], cwd=repo_root, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert "No new upgrade operations detected" in done.stdout
    assert "deliveries" in table_names(database)


# --- operator errors: one line, a non-zero exit, the traceback only with --debug ----------


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"eventcrm {version('eventcrm')}"


@dataclass
class Mistake:
    environment: dict[str, str]
    args: list[str]
    says: str


MISTAKES = {
    "sendgrid without a key": Mistake(
        {"EVENTCRM_EMAIL_PROVIDER": "sendgrid"}, ["db", "upgrade"], "EVENTCRM_SENDGRID_API_KEY"
    ),
    "a bad settings value": Mistake(
        {"EVENTCRM_WORKER_CONCURRENCY": "many"},
        ["worker", "--until-idle"],
        "EVENTCRM_WORKER_CONCURRENCY: Input should be a valid integer",
    ),
    "an unknown migration revision": Mistake(
        {}, ["db", "upgrade", "nosuch"], "Can't locate revision identified by 'nosuch'"
    ),
    "an unreachable database": Mistake(
        {"EVENTCRM_DATABASE_URL": "postgresql+asyncpg://eventcrm@127.0.0.1:1/eventcrm"},
        ["db", "upgrade"],
        "could not connect to the database",
    ),
    "an unsupported database": Mistake(
        {"EVENTCRM_DATABASE_URL": "mysql://eventcrm@127.0.0.1/eventcrm"},
        ["db", "current"],
        "Unsupported database 'mysql'",
    ),
    "serve misconfigured": Mistake(
        {"EVENTCRM_RATE_LIMIT": "lots"}, ["serve"], "EVENTCRM_RATE_LIMIT: 'lots' is not a rate"
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_an_operator_error_is_one_line_and_a_failed_exit(
    database: Path, mistake: Mistake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, mistake.args, env=mistake.environment)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stderr.splitlines()
    assert line.startswith("eventcrm: error: ")
    assert mistake.says in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_debug_shows_the_traceback_of_an_operator_error(
    database: Path, mistake: Mistake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, ["--debug", *mistake.args], env=mistake.environment)
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1].startswith("eventcrm: error: ")


def test_an_operator_error_from_the_installed_command_is_one_line(tmp_path: Path) -> None:
    """The real entry point, as an operator runs it: no Python traceback on the terminal."""
    env = {**without_eventcrm_settings(), "EVENTCRM_EMAIL_PROVIDER": "sendgrid"}
    done = subprocess.run(
        [*eventcrm_command(), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "eventcrm: error: invalid configuration: "
        "EVENTCRM_SENDGRID_API_KEY is required when the provider is sendgrid"
    ]


# --- EVENTCRM_PUBLIC_URL: links point at the server that sent them ------------------------


@pytest.mark.parametrize(
    ("options", "links"),
    [
        ([], "http://127.0.0.1:8000"),
        (["--port", "9123"], "http://127.0.0.1:9123"),
        (["--host", "localhost", "--port", "9123"], "http://localhost:9123"),
        (["--host", "0.0.0.0", "--port", "9123"], "http://127.0.0.1:9123"),
        (["--host", "::1", "--port", "9123"], "http://[::1]:9123"),
    ],
)
def test_serve_points_links_at_the_address_it_listens_on(
    database: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], links: str
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, ["serve", *options])
    assert result.exit_code == 0, result.output
    # What the server processes read, and so the unsubscribe links they build.
    container = build_container(Settings())
    assert container.unsubscribe.url("someone").startswith(f"{links}/api/v1/unsubscribe/")


def test_serve_keeps_an_explicit_public_url(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    monkeypatch.setenv("EVENTCRM_PUBLIC_URL", "https://crm.example/")
    result = CliRunner().invoke(app, ["serve", "--port", "9123"])
    assert result.exit_code == 0, result.output
    url = build_container(Settings()).unsubscribe.url("someone")
    assert url.startswith("https://crm.example/api/v1/unsubscribe/")


def test_serve_on_a_wildcard_address_says_where_links_point(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9123"])
    assert "links in email point to http://127.0.0.1:9123; set EVENTCRM_PUBLIC_URL" in (
        result.stderr
    )


# --- eventcrm serve ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``eventcrm serve`` as a user starts it: a fresh directory, no EVENTCRM_ settings."""
    with running_server(tmp_path_factory.mktemp("serve")) as server:
        yield server


def test_serve_answers_ready_with_the_database_ok(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/health/ready")
    assert response.json() == {"status": "ok", "database": "ok"}


def test_serve_creates_the_embedded_database_under_var(server: Server) -> None:
    database = server.workdir / "var" / "eventcrm.db"
    assert database.is_file()
    assert "users" in table_names(database)


def test_serve_says_where_the_database_lives(server: Server) -> None:
    database = (server.workdir / "var" / "eventcrm.db").resolve()
    assert f"database at {database}" in server.stderr.read_text()


def test_serve_shows_interactive_docs(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_serve_publishes_the_openapi_schema_of_the_users_api(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/users/search"} <= set(paths)


def test_serve_stores_what_the_api_is_given(server: Server) -> None:
    payload = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
    created = httpx.post(f"{server.base_url}/api/v1/users", json=payload, headers=server.auth)
    assert created.status_code == 201, created.text
    fetched = httpx.get(
        f"{server.base_url}/api/v1/users/{created.json()['id']}", headers=server.auth
    )
    assert fetched.json() == created.json()


def test_serve_sends_email_into_the_outbox_with_nothing_configured(server: Server) -> None:
    """The embedded worker: a campaign sent through the API lands in ./var/outbox/."""
    payload = {"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"}
    user = httpx.post(f"{server.base_url}/api/v1/users", json=payload, headers=server.auth).json()
    sent = httpx.post(
        f"{server.base_url}/api/v1/emails/send",
        headers=server.auth,
        json={"subject": "Hi {{ user.firstName }}", "text": "Hello", "userIds": [user["id"]]},
    )
    assert sent.status_code == 202, sent.text
    campaign_url = f"{server.base_url}/api/v1/campaigns/{sent.json()['campaignId']}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while httpx.get(campaign_url, headers=server.auth).json()["status"] != "completed":
        assert time.monotonic() < deadline, server.stderr.read_text()[-2000:]
        time.sleep(0.1)
    [message] = sorted((server.workdir / "var" / "outbox").glob("*.eml"))
    assert b"Subject: Hi Grace" in message.read_bytes()


def test_worker_until_idle_exits_when_nothing_is_queued(database: Path) -> None:
    result = CliRunner().invoke(app, ["worker", "--until-idle"])
    assert result.exit_code == 0, result.output
    assert "deliveries" in table_names(database)


# --- limits and kept connections -----------------------------------------------------------


def test_serve_keeps_the_connection_after_every_refusal(server: Server) -> None:
    """Each refusal is problem+json, and the same connection serves the next request."""
    conn = KeepAliveConnection(server.base_url, headers=server.auth.items())
    big = b" " * (1024 * 1024 + 1)
    JSON = [("content-type", "application/json")]
    refusals: list[tuple[int, str, Callable[[], Reply]]] = [
        (413, "payload_too_large", lambda: conn.request("POST", USERS, body=big, headers=JSON)),
        (
            413,
            "payload_too_large",
            lambda: conn.request("POST", USERS, chunks=[big[:65536]] * 17, headers=JSON),
        ),
        (414, "uri_too_long", lambda: conn.request("GET", f"{USERS}?q={'a' * 40_000}")),
        (405, "method_not_allowed", lambda: conn.request("OPTIONS", f"{USERS}/some-id")),
        (404, "user_not_found", lambda: conn.request("GET", f"{USERS}/missing")),
        (400, "malformed_json", lambda: conn.request("POST", USERS, body=b"{", headers=JSON)),
        (422, "validation_error", lambda: conn.request("POST", USERS, json_body={})),
    ]
    try:
        for status, code, refused in refusals:
            reply = refused()
            assert reply.status == status, reply
            assert reply.content_type == "application/problem+json"
            assert reply.json()["type"] == f"urn:eventcrm:problem:{code}"
            assert conn.request("GET", f"{USERS}?limit=1").status == 200
        allow = conn.request("DELETE", f"{USERS}").headers["allow"]
        assert allow == "GET, POST"
    finally:
        conn.close()
    assert conn.requests == 2 * len(refusals) + 1


def test_serve_refuses_a_request_line_over_64_kibibytes_itself(server: Server) -> None:
    """Past the HTTP parser's own limit the server answers before the app can:
    a plain-text 400, and the connection is closed (see the README)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"GET {USERS}?q={'a' * 70_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = sock.makefile("rb").read()  # until the server closes
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 400")
    assert b"content-type: text/plain" in head


# --- the first administrator key and eventcrm keys ... ---------------------------------------


def test_serve_prints_the_first_admin_key_which_opens_the_api(server: Server) -> None:
    out = server.stdout.read_text()
    assert "/docs" in out
    assert "Authorize" in out
    assert server.first_key.startswith("ecrm_")
    assert httpx.get(f"{server.base_url}/api/v1/users").status_code == 401
    assert httpx.get(f"{server.base_url}/api/v1/users", headers=server.auth).status_code == 200


def test_serve_prints_a_first_key_only_on_the_first_start(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eventcrm.cli.uvicorn.run", lambda *args, **kwargs: None)
    first = CliRunner().invoke(app, ["serve"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().splitlines()[-1].startswith("ecrm_")
    second = CliRunner().invoke(app, ["serve"])
    assert second.exit_code == 0, second.output
    assert "ecrm_" not in second.stdout
    listed = CliRunner().invoke(app, ["keys", "list"])
    assert len(listed.stdout.strip().splitlines()) == 1


def _create_key(*options: str) -> str:
    result = CliRunner().invoke(app, ["keys", "create", *options])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_keys_create_prints_the_key_once_on_the_last_line(database: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "create", "--role", "viewer", "--name", "dash"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    key = lines[-1]
    assert key.startswith("ecrm_")
    assert result.stdout.count(key) == 1
    prefix = key[: len("ecrm_") + 8]
    listed = CliRunner().invoke(app, ["keys", "list"])
    assert prefix in listed.stdout
    assert "viewer" in listed.stdout
    assert "dash" in listed.stdout
    assert key not in listed.stdout
    # Only the digest is stored: the secret appears nowhere in the database file.
    assert key.split("_")[-1].encode() not in database.read_bytes()


def test_keys_create_for_an_organizer_needs_an_existing_contact(database: Path) -> None:
    missing = CliRunner().invoke(app, ["keys", "create", "--role", "organizer"])
    assert missing.exit_code == 1
    unknown = CliRunner().invoke(
        app, ["keys", "create", "--role", "organizer", "--user-id", "nobody"]
    )
    assert unknown.exit_code == 1
    assert "nobody" in unknown.output


def test_keys_create_with_an_expiry_lists_it(database: Path) -> None:
    _create_key("--role", "admin", "--expires-in", "30")
    listed = CliRunner().invoke(app, ["keys", "list"])
    assert "expires=never" not in listed.stdout
    assert "active" in listed.stdout


def test_keys_revoke_marks_the_key_revoked(database: Path) -> None:
    key = _create_key("--role", "admin")
    prefix = key[: len("ecrm_") + 8]
    revoked = CliRunner().invoke(app, ["keys", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in CliRunner().invoke(app, ["keys", "list"]).stdout
    unknown = CliRunner().invoke(app, ["keys", "revoke", "ecrm_00000000"])
    assert unknown.exit_code == 1
