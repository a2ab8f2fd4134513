"""Production shape on one machine: two web processes and two workers sharing nothing but the
database. Mentions come in through the workers, two advocates play and reply through
alternating web processes, a worker is killed mid-way, and every reply is posted exactly once,
threaded to the right post."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mentiondesk.accounts import services as account_services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from tests.processes import command_env

MENTIONS = 24
FLEET = {
    "MENTIONDESK_POLL_INTERVAL_SECONDS": "1",
    "MENTIONDESK_X_TIMEOUT_SECONDS": "2",
    "MENTIONDESK_OUTBOX_LEASE_SECONDS": "3",
    "MENTIONDESK_ACCESS_LOG": "0",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(predicate: Any, seconds: float = 120, state: Any = None) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; {state() if state else ''}")
        time.sleep(0.2)


@pytest.fixture
def fleet(desk: SandboxServer, transactional_db: None) -> Iterator[dict[str, Any]]:
    env = command_env(desk, **FLEET)
    webs: list[tuple[subprocess.Popen[str], str]] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(2):
            port = _free_port()
            web = subprocess.Popen(
                [sys.executable, "-m", "mentiondesk", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert web.stdout is not None
            assert web.stdout.readline().startswith("mentiondesk on ")
            webs.append((web, f"http://127.0.0.1:{port}"))
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "mentiondesk", "worker", "--interval", "0.2"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        yield {"urls": [url for _, url in webs], "workers": workers}
    finally:
        for process in [w for w, _ in webs] + workers:
            process.kill()
            process.wait(timeout=30)


def test_two_web_processes_and_two_workers_answer_every_mention_once(
    desk: SandboxServer, fleet: dict[str, Any]
) -> None:
    urls = fleet["urls"]
    tokens = []
    for name in ("ana", "ben"):
        user = account_services.user_create(username=name, role="advocate")
        tokens.append({"Authorization": f"Bearer {account_services.token_create(user=user)[1]}"})
    mentions = {
        desk.store.mention_add(f"user{i}", f"@Driftwood question number {i}")
        for i in range(MENTIONS)
    }
    for url in urls:
        assert httpx.get(f"{url}/readyz").status_code == 200

    # The workers poll; both web processes see the same queue.
    def queued() -> int:
        return httpx.get(f"{urls[1]}/api/v1/tickets", headers=tokens[0]).json()["count"]

    _wait(lambda: queued() == MENTIONS)

    answered: list[int] = []
    agent = 0
    while True:
        # Play on one process, reply on the other, agents taking turns.
        next_url, reply_url = urls[agent % 2], urls[(agent + 1) % 2]
        played = httpx.post(f"{next_url}/api/v1/queue/next", headers=tokens[agent % 2])
        if played.status_code == 204:
            break
        ticket = played.json()
        sent = httpx.post(
            f"{reply_url}/api/v1/tickets/{ticket['id']}/replies",
            headers=tokens[agent % 2],
            json={"text": f"Thanks @{ticket['requester']}, on it.", "status_after": "solved"},
        )
        assert sent.status_code == 201, sent.text
        answered.append(ticket["id"])
        agent += 1
        if len(answered) == MENTIONS // 2:
            fleet["workers"][0].send_signal(signal.SIGKILL)  # one worker dies mid-way

    assert len(answered) == len(set(answered)) == MENTIONS
    # Every reply settles: sent, or (if the killed worker died mid-send and the post cannot be
    # found) parked for a person with the reason. Never sent twice.
    settled = (Reply.Status.SENT, Reply.Status.NEEDS_ATTENTION)
    _wait(
        lambda: Reply.objects.filter(status__in=settled).count() == MENTIONS,
        state=lambda: Counter(Reply.objects.values_list("status", flat=True)),
    )
    time.sleep(2)  # room for a duplicate to show up, if the outbox could make one
    ours = desk.store.posts(author="Driftwood")
    replied_to = Counter(ref["id"] for post in ours for ref in post.get("referenced_tweets", []))
    assert set(replied_to.values()) == {1}, "a mention was answered twice"
    assert set(replied_to) <= mentions
    sent = Reply.objects.filter(status=Reply.Status.SENT)
    assert sent.count() == len(ours), "every reply marked sent is on the network"
    assert sent.count() >= MENTIONS - 2, "at most the killed worker's sends in flight are parked"
    for parked in Reply.objects.filter(status=Reply.Status.NEEDS_ATTENTION):
        assert parked.reason, parked
