"""The command line as outside checks drive it: real processes, the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.conftest import DESK_POLICY
from tests.processes import command_env, mentiondesk


def test_help_and_version_work_before_any_configuration(tmp_path: Path) -> None:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("MENTIONDESK_")}
    for args in (["--help"], []):
        result = subprocess.run(
            [sys.executable, "-m", "mentiondesk", *args],
            env=bare,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0
        assert "policy apply FILE.toml" in result.stdout
    assert not (tmp_path / "var").exists(), "help must not create anything"
    version = mentiondesk("version", env=bare, cwd=str(tmp_path))
    assert version.stdout.strip() == "0.1.0"


@pytest.mark.django_db(transaction=True)
def test_user_add_and_token_create_give_a_working_api_token(client) -> None:  # type: ignore[no-untyped-def]
    added = mentiondesk("user", "add", "ana", "--role", "advocate")
    assert added.returncode == 0, added.stderr
    created = mentiondesk("token", "create", "ana")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    response = client.get("/api/v1/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200

    again = mentiondesk("user", "add", "ana", "--role", "lead")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad_role = mentiondesk("user", "add", "zed", "--role", "wizard")
    assert bad_role.returncode != 0 and "wizard" in bad_role.stderr
    nobody = mentiondesk("token", "create", "nobody")
    assert nobody.returncode != 0 and "nobody" in nobody.stderr


@pytest.mark.django_db(transaction=True)
def test_policy_apply_and_show(tmp_path: Path) -> None:
    good = tmp_path / "policy.toml"
    good.write_text(DESK_POLICY + '\n[[user]]\nusername = "lee"\nrole = "lead"\n')
    applied = mentiondesk("policy", "apply", str(good))
    assert applied.returncode == 0, applied.stderr
    assert Handle.objects.filter(is_active=True).count() == 3
    shown = mentiondesk("policy", "show")
    assert 'username = "DriftwoodStatus"' in shown.stdout and 'role = "lead"' in shown.stdout

    broken = tmp_path / "broken.toml"
    broken.write_text('[[handle]]\nusername = "Driftwood"\nrole = "boss"\n')
    failed = mentiondesk("policy", "apply", str(broken))
    assert failed.returncode == 1
    assert str(broken) in failed.stderr and "handle[1].role" in failed.stderr
    assert "Traceback" not in failed.stderr


@pytest.mark.django_db(transaction=True)
def test_policy_apply_refuses_a_network_without_a_connector(tmp_path: Path) -> None:
    policy = tmp_path / "threads.toml"
    policy.write_text(
        DESK_POLICY + '\n[[handle]]\nnetwork = "threads"\nusername = "driftwood"\n'
        'instance = "https://threads.example"\n'
    )
    failed = mentiondesk("policy", "apply", str(policy))
    assert failed.returncode == 1
    assert "handle[4] @driftwood: network 'threads' is not supported yet" in failed.stderr
    assert "supported networks: x, mastodon, bluesky" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not Handle.objects.exists(), "all or nothing: the x handles were not applied either"


@pytest.mark.django_db(transaction=True)
def test_poll_stores_mentions_and_prints_what_it_stored(desk: SandboxServer) -> None:
    desk.store.mention_add("maya", "@Driftwood is CI down?")
    desk.store.mention_add("omar", "@DriftwoodStatus @Driftwood 502s everywhere")
    env = command_env(desk)
    first = mentiondesk("poll", env=env)
    assert first.returncode == 0, first.stderr
    assert "@Driftwood: stored 2 posts, 2 new tickets" in first.stdout
    assert Ticket.objects.count() == 2
    second = mentiondesk("poll", env=env)
    assert "@Driftwood: stored 0 posts, 0 new tickets" in second.stdout
    assert Ticket.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_poll_says_which_variable_is_missing(desk: SandboxServer) -> None:
    env = command_env(desk)
    del env["MENTIONDESK_X_TOKEN_DRIFTWOOD"]
    result = mentiondesk("poll", env=env)
    assert "MENTIONDESK_X_TOKEN_DRIFTWOOD is not set" in result.stdout
    assert "@DriftwoodStatus: stored" in result.stdout, "other handles are still polled"


@pytest.mark.django_db(transaction=True)
def test_serve_answers_once_it_says_so() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "serve", "--port", str(port)],
        env=command_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"mentiondesk on http://127.0.0.1:{port}/"
        assert httpx.get(f"http://127.0.0.1:{port}/accounts/login/").status_code == 200
        spec = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json")
        assert spec.json()["info"]["title"] == "mentiondesk API"
    finally:
        server.terminate()
        server.wait(timeout=30)
