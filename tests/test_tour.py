"""docs/tour.sh, the README's tour, against a fresh ``eventcrm serve``: it must never break."""

from __future__ import annotations

import email
import email.policy
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.serve import Server, eventcrm_command, running_server, without_eventcrm_settings

TOUR_TIMEOUT_SECONDS = 300

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the tour needs curl")


def run_tour(tour: Path, server: Server, *, cwd: Path, **env: str) -> str:
    """Run the tour to its end; return the id of the campaign it sent."""
    done = subprocess.run(
        ["bash", str(tour)],
        cwd=cwd,
        env={**without_eventcrm_settings(), "BASE_URL": server.base_url, **env},
        capture_output=True,
        text=True,
        timeout=TOUR_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    last = done.stderr.strip().splitlines()[-1]  # "tour complete: campaign <id> sent to 3 people"
    assert last.startswith("tour complete: campaign ")
    return last.split()[3]


def campaign_messages(server: Server, campaign_id: str) -> list[email.message.EmailMessage]:
    paths = sorted((server.workdir / "var" / "outbox").glob(f"*-{campaign_id}.eml"))
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in paths
    ]


def test_the_tour_runs_from_an_empty_server_to_a_sent_email(
    tmp_path: Path, repo_root: Path
) -> None:
    with running_server(tmp_path) as server:
        tour = repo_root / "docs" / "tour.sh"
        campaign_id = run_tour(tour, server, cwd=repo_root, EVENTCRM_KEY=server.first_key)
        messages = campaign_messages(server, campaign_id)
        assert len(messages) == 3  # the owner and the two seated attendees; not the waitlist
        for message in messages:
            assert str(message["Subject"]).startswith("See you at PyCon Austin")
            assert f"<{server.base_url}/api/v1/unsubscribe/" in str(message["List-Unsubscribe"])

        # Again, without a key: the tour creates one on the server's database.
        (server.workdir / ".venv" / "bin").mkdir(parents=True)
        (server.workdir / ".venv" / "bin" / "eventcrm").symlink_to(eventcrm_command()[0])
        again = run_tour(tour, server, cwd=server.workdir)
        assert again != campaign_id
        assert len(campaign_messages(server, again)) == 3
