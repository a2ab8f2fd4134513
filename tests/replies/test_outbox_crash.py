"""A real worker process killed after X accepted the post but before the desk recorded it.
The restarted worker must find the post and record it: exactly one post on the network."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import DeliveryAttempt, Reply
from mentiondesk.sandbox.server import SandboxServer
from mentiondesk.tickets.models import Ticket

DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "outbox", "ingest"],
    }
}


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(desk: SandboxServer, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "MENTIONDESK_DATABASE_URL": database_url(),
        "MENTIONDESK_X_API_URL": desk.url,
        "MENTIONDESK_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        # Short, so the test does not wait a minute for the lease; the lease stays above the
        # request timeout, as settings require.
        "MENTIONDESK_X_TIMEOUT_SECONDS": "2",
        "MENTIONDESK_OUTBOX_LEASE_SECONDS": "3",
        **extra,
    }
    for name in ("Driftwood", "DriftwoodStatus", "MovingToDriftwood"):
        env[f"MENTIONDESK_X_TOKEN_{name.upper()}"] = desk.store.token_for(name)
    return env


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
        env=worker_env(desk),
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
        env=worker_env(desk),
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
