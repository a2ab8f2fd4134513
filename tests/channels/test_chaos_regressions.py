"""What `make chaos` (bench/chaos.py) found in ingest and rate limiting, kept as regression
tests: spent rate-limit windows are shared between processes, and an interrupted pass resumes
from its next page."""

from __future__ import annotations

import time

import pytest

from mentiondesk.channels import services as channel_services
from mentiondesk.channels.models import Handle
from mentiondesk.sandbox.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env, mentiondesk


@pytest.mark.django_db(transaction=True)
def test_a_second_process_waits_for_the_reset_x_announced_to_the_first(
    desk: SandboxServer,
) -> None:
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    env = command_env(desk)
    assert mentiondesk("poll", env=env).returncode == 0
    handle = Handle.objects.get(username="Driftwood")
    mentions_path = f"/2/users/{handle.remote_id}/mentions"
    # X spends @Driftwood's mentions window: 429, next reset a minute away.
    desk.store.fault_add("GET", mentions_path, kind="status", status=429, reset_in=60)
    first = mentiondesk("poll", env=env)
    assert "Too Many Requests" in first.stdout, first.stdout + first.stderr
    told_at = time.time()

    mentiondesk("poll", env=env)  # another worker, or the same one restarted

    calls = [r for r in desk.store.request_log() if r.path == mentions_path and r.at > told_at]
    assert calls == [], "GET mentions called again before the announced reset"


@pytest.mark.django_db
def test_a_backlog_longer_than_a_rate_limit_window_drains(desk: SandboxServer) -> None:
    for n in range(250):  # three pages of 100
        desk.store.mention_add(f"user{n}", f"@Driftwood is the API down? #{n}")
    # Two mentions calls per one-second window: a pass needs three.
    desk.store.rate_limits["GET /2/users/:id/mentions"] = 2
    desk.store.window = 1.0
    for _ in range(5):
        channel_services.mentions_poll_all()
        time.sleep(1.1)  # past the reset X announced
    stored = Ticket.objects.filter(handle__username="Driftwood").count()
    assert stored == 250, f"{250 - stored} mentions never stored"
