"""`mentiondesk demo` end to end, as a newcomer runs it: a real process on a fresh directory,
driven through the web login, the CLI and the REST API against its own sandbox network."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import mentiondesk as mentiondesk_package
from tests.processes import mentiondesk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTIONDESK_")}
    # This tree's code, not whatever `mentiondesk` the venv holds: a relative PYTHONPATH
    # (`PYTHONPATH=src`) means nothing from the demo's own working directory.
    env["PYTHONPATH"] = str(Path(mentiondesk_package.__file__).parents[1])
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        while not any("press Ctrl+C" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                raise AssertionError("demo exited early:\n" + "".join(lines))
            lines.append(line)
        sandbox = re.search(r"sandbox X network: (\S+)", "".join(lines))
        assert sandbox
        cli_env = {**env, "MENTIONDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'demo.db'}"}
        yield f"http://127.0.0.1:{port}", sandbox.group(1), cli_env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_demo_serves_the_desk_and_sends_a_reply_once(demo: tuple[str, str, dict[str, str]]) -> None:
    url, sandbox, cli_env = demo
    with httpx.Client(base_url=url, timeout=10) as web:
        login_page = web.get("/accounts/login/")
        assert login_page.status_code == 200
        csrf = web.cookies["csrftoken"]
        logged_in = web.post(
            "/accounts/login/",
            data={"username": "ana", "password": "mentiondesk", "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{url}/accounts/login/"},
        )
        assert logged_in.status_code == 302
        assert web.get("/").status_code == 200

    token = mentiondesk("token", "create", "ana", env=cli_env).stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=auth, timeout=10) as api:
        assert api.get("/tickets").json()["count"] > 0, "the sandbox's first mentions are tickets"
        ticket = api.post("/queue/next").json()
        assert ticket["assignee"] == "ana"
        reply = api.post(f"/tickets/{ticket['id']}/replies", json={"text": "Hi! Looking now."})
        assert reply.status_code == 201
        reply_id = reply.json()["id"]
        deadline = time.monotonic() + 30
        while (status := api.get(f"/replies/{reply_id}").json())["status"] != "sent":
            assert time.monotonic() < deadline, status
            time.sleep(0.3)

    posts = httpx.get(f"{sandbox}/_sandbox/posts", params={"author": status["handle"]}).json()
    ours = [p for p in posts["posts"] if p["text"] == "Hi! Looking now."]
    assert len(ours) == 1
    assert any(r["id"] == reply.json()["in_reply_to"] for r in ours[0]["referenced_tweets"])
