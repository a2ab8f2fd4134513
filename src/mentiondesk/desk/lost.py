"""Task rows a stopped worker left RUNNING: marked failed by the next worker, as a periodic
job (schedules.py). Apart from worker.py, which runs the schedules, so the schedule list can
name this job without importing the worker that imports the schedule list."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mentiondesk.core.models import WorkerProcess
from mentiondesk.core.selectors import task_results_lost

logger = logging.getLogger(__name__)


class WorkerLost(Exception):
    """The worker running the task stopped (killed, crashed, machine gone) before the task
    finished. Recorded as the failed task's exception; never raised."""


WORKER_LOST = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"


def task_results_lost_fail() -> int:
    """Mark failed every task row RUNNING whose worker is gone (`task_results_lost`), with
    the reason as its traceback, and forget workers not seen for a day. Returns how many rows
    this call marked.

    Failed, not re-queued: the work they stood for has its own recovery (the outbox sweep
    reconciles a reply whose send was cut short; polls and sweeps run again on schedule).
    Safe with several workers: each row changes only while still RUNNING, so two workers
    never both count it, and a task that finishes meanwhile keeps its own result."""
    now = timezone.now()
    marked = 0
    for pk in task_results_lost(now=now):
        row = DBTaskResult.objects.filter(pk=pk).values("worker_ids", "started_at").first()
        if row is None:
            continue
        worker = row["worker_ids"][-1] if row["worker_ids"] else "unknown"
        started = f"{row['started_at']:%Y-%m-%d %H:%M:%S}"
        reason = (
            f"{WORKER_LOST}: worker {worker} stopped while running this task (no heartbeat "
            f"for {settings.TASK_WORKER_GONE_SECONDS:g} s; started {started} UTC). Marked "
            f"failed by a later worker at {now:%H:%M:%S} UTC.\n"
        )
        marked += DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            return_value=None,
            exception_class_path=WORKER_LOST,
            traceback=reason,
        )
    if marked:
        logger.warning("%d task(s) left running by a stopped worker marked failed", marked)
    WorkerProcess.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return marked


@task()
def task_results_lost_fail_task() -> None:
    task_results_lost_fail()
