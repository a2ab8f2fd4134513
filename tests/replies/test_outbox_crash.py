"""A real worker process killed after X accepted the post but before the desk recorded it.
The restarted worker must find the post and record it: exactly one post on the network."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env

DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "outbox", "ingest"],
    }
}
# Short, so the test does not wait a minute for the lease; the lease stays above the request
# timeout, as settings require.
FAST = {"MENTIONDESK_X_TIMEOUT_SECONDS": "2", "MENTIONDESK_OUTBOX_LEASE_SECONDS": "3"}


def wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_between_sending_and_recording_posts_exactly_once(
    desk: SandboxServer, advocate: User, settings: Any
) -> None:
    settings.TASKS = DB_TASKS
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    channel_services.mentions_poll_all()
    ticket = Ticket.objects.get()
    reply = services.reply_create(ticket=ticket, author=advocate, text="Looking at it now, Maya!")

    # X stores the post, then the answer never comes back while the worker waits.
    desk.store.fault_add("POST", "/2/tweets", kind="timeout_after_accept", delay=60)
    worker = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **FAST),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: desk.store.posts(author="Driftwood"))
    finally:
        worker.kill()
        worker.wait()
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENDING, "the killed worker left the send unrecorded"
    assert reply.lease_until is not None
    wait_for(lambda: timezone.now() > reply.lease_until)

    restarted = subprocess.run(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **FAST),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert restarted.returncode == 0, restarted.stderr

    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENT
    assert len(desk.store.posts(author="Driftwood")) == 1
    outcomes = list(reply.attempts_log.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [DeliveryAttempt.Outcome.PENDING, DeliveryAttempt.Outcome.RECONCILED_FOUND]
