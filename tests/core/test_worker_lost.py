"""Task rows a killed worker left RUNNING (chaos finding 5), with real worker processes: while
the worker lives, its long task stays RUNNING, whatever its age; once the process is SIGKILLed
and its heartbeat is older than TASK_WORKER_GONE_SECONDS, /metrics counts the row as LOST, not
running, and the next worker marks it FAILED with the reason. Marking is idempotent."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mentiondesk.accounts.models import User
from mentiondesk.core.models import WorkerProcess
from mentiondesk.core.selectors import task_results_lost
from mentiondesk.desk.lost import WORKER_LOST, task_results_lost_fail
from mentiondesk.intake import ingest as channel_services
from mentiondesk.replies import services
from mentiondesk.replies.models import Reply
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.processes import command_env

DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "outbox", "ingest"],
    }
}
GONE = 2.0
# The send hangs for 30 s (X accepted the post, its answer never comes): a long task.
ENV = {
    "MENTIONDESK_X_TIMEOUT_SECONDS": "30",
    "MENTIONDESK_OUTBOX_LEASE_SECONDS": "40",
    "MENTIONDESK_TASK_WORKER_GONE_SECONDS": str(GONE),
}
TOKEN = "metrics-token"


def wait_for(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def running() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING))


def worker_once(desk: SandboxServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **ENV),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def tasks_metric(client: Client) -> dict[str, float]:
    with override_settings(METRICS_TOKEN=TOKEN):
        text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line.startswith("mentiondesk_tasks{")
    }


@pytest.mark.django_db(transaction=True)
def test_a_task_left_running_by_a_killed_worker_is_marked_failed_a_live_ones_is_not(
    desk: SandboxServer, advocate: User, settings: Any, client: Client
) -> None:
    settings.TASKS = DB_TASKS
    settings.TASK_WORKER_GONE_SECONDS = GONE
    desk.store.mention_add("maya", "@Driftwood my pipeline is stuck")
    channel_services.mentions_poll_all()
    reply = services.reply_create(
        ticket=Ticket.objects.get(), author=advocate, text="Looking at it now, Maya!"
    )
    desk.store.fault_add("POST", "/2/tweets", kind="timeout_after_accept", delay=60)
    busy = subprocess.Popen(
        [sys.executable, "-m", "mentiondesk", "worker", "--once"],
        env=command_env(desk, **ENV),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: desk.store.posts(author="Driftwood"))
        (task,) = running()
        assert f"-{busy.pid}-" in task.worker_ids[-1], "one id per process, with its pid"

        # Alive and beating: a task older than the limit is not lost, and another worker's
        # sweep leaves it alone.
        time.sleep(GONE + 0.5)
        assert task_results_lost() == []
        worker_once(desk)
        assert [t.pk for t in running()] == [task.pk]
        assert tasks_metric(client).get("RUNNING") == 1.0
    finally:
        busy.kill()
        busy.wait()

    # Killed mid-task: the row stays RUNNING; once the heartbeat is GONE seconds old, /metrics
    # no longer counts it as running.
    assert [t.pk for t in running()] == [task.pk]
    wait_for(lambda: task_results_lost() == [str(task.pk)], seconds=GONE * 5)
    metric = tasks_metric(client)
    assert metric.get("RUNNING", 0.0) == 0.0
    assert metric["LOST"] == 1.0

    worker_once(desk)

    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == WORKER_LOST
    assert f"worker {task.worker_ids[-1]} stopped while running this task" in task.traceback
    assert task.finished_at is not None
    assert running() == []
    assert "LOST" not in tasks_metric(client)
    assert task_results_lost_fail() == 0, "already marked: a second worker changes nothing"
    # The killed worker's heartbeat row stays until pruned; the clean ones removed theirs.
    assert list(WorkerProcess.objects.values_list("worker_id", flat=True)) == [task.worker_ids[-1]]
    # The reply itself was never sent twice: it waits for the outbox sweep to reconcile it.
    reply.refresh_from_db()
    assert reply.status == Reply.Status.SENDING
    assert len(desk.store.posts(author="Driftwood")) == 1
