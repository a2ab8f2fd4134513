"""A backlog of background work does not hold up ingest: the worker runs at most PASS_TASKS
tasks between looks at its schedules, highest priority first, and does not sleep while tasks
are waiting."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mentiondesk.desk.schedules import schedules
from mentiondesk.desk.worker import PASS_TASKS, tasks_drain, worker_run
from mentiondesk.intake import tasks as channel_tasks
from mentiondesk.replies import tasks as reply_tasks
from mentiondesk.replies.services import outbox
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket
from tests.core.test_worker_lost import DB_TASKS


def warming(status: str) -> int:
    return DBTaskResult.objects.filter(
        task_path__endswith="ticket_evidence_warm", status=status
    ).count()


@pytest.mark.django_db(transaction=True)
def test_a_poll_enqueued_behind_a_backlog_runs_first(desk: SandboxServer, settings: Any) -> None:
    settings.TASKS = DB_TASKS
    backlog = 2 * PASS_TASKS + 5
    for n in range(backlog):
        reply_tasks.ticket_evidence_warm.enqueue(ticket_id=10_000 + n)  # gone: quick to run
    desk.store.mention_add("maya", "@Driftwood pushing to main fails with a 502")

    assert tasks_drain(max_tasks=PASS_TASKS) is True, "tasks are still waiting"
    assert warming(TaskResultStatus.SUCCESSFUL) == PASS_TASKS

    channel_tasks.mentions_poll_all.enqueue()
    tasks_drain(max_tasks=1)
    assert Ticket.objects.count() == 1, "the poll went before the rest of the backlog"
    assert warming(TaskResultStatus.READY) == backlog - PASS_TASKS

    assert tasks_drain(max_tasks=None) is False
    assert warming(TaskResultStatus.SUCCESSFUL) == backlog + 1, "and the new ticket's own"


@pytest.mark.django_db(transaction=True)
def test_the_worker_does_not_sleep_while_tasks_are_waiting(
    desk: SandboxServer, settings: Any
) -> None:
    settings.TASKS = DB_TASKS
    for n in range(3 * PASS_TASKS):
        reply_tasks.ticket_evidence_warm.enqueue(ticket_id=10_000 + n)
    stop = threading.Event()
    worker = threading.Thread(target=worker_run, kwargs={"interval": 3600, "stop": stop})
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while warming(TaskResultStatus.READY) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert warming(TaskResultStatus.READY) == 0, "the worker slept with tasks waiting"
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


@pytest.mark.django_db(transaction=True)
def test_a_periodic_job_still_waiting_is_not_enqueued_again(settings: Any) -> None:
    """Workers started behind a backlog (or several workers) each find every job due."""
    settings.TASKS = DB_TASKS
    for _ in range(3):
        for job in schedules():
            job.enqueue()

    waiting = Counter(
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).values_list(
            "task_path", flat=True
        )
    )
    assert len(waiting) == len(schedules())
    assert set(waiting.values()) == {1}

    tasks_drain()
    for job in schedules():
        job.enqueue()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == len(schedules())


@pytest.mark.django_db(transaction=True)
def test_the_outbox_sweep_goes_before_a_backlog_of_sends(settings: Any) -> None:
    """A reply whose sender died is reconciled while its post is near the top of our
    timeline, not after thousands of other sends (chaos finding 8)."""
    settings.TASKS = DB_TASKS
    for n in range(PASS_TASKS):
        outbox.reply_deliver_task.enqueue(reply_id=10_000 + n)  # gone: quick to run
    reply_tasks.outbox_drain.enqueue()

    tasks_drain(max_tasks=1)

    sweep = DBTaskResult.objects.get(task_path=reply_tasks.outbox_drain.module_path)
    assert sweep.status == TaskResultStatus.SUCCESSFUL
