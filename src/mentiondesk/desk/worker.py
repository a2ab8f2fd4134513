"""The background worker: runs periodic jobs when due and drains the task queue.

Each worker process has one id for its life (host, pid, a random suffix) and writes a
heartbeat (`WorkerProcess.seen_at`) from a thread of its own, also while a long task runs. A
task row left RUNNING by a worker that stopped beating is marked failed by whichever worker
runs `task_results_lost_fail` next (a periodic job, see schedules.py)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from mentiondesk.core.models import WorkerProcess
from mentiondesk.core.selectors import task_results_lost
from mentiondesk.desk.schedules import schedules

logger = logging.getLogger(__name__)


class WorkerLost(Exception):
    """The worker running the task stopped (killed, crashed, machine gone) before the task
    finished. Recorded as the failed task's exception; never raised."""


WORKER_LOST = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"


def worker_id_new() -> str:
    """An id for this process, at most 64 characters (django_tasks_db's limit)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


def worker_heartbeat(*, worker_id: str) -> None:
    """Say that worker `worker_id` (this process) is alive now."""
    now = timezone.now()
    updated = WorkerProcess.objects.filter(worker_id=worker_id).update(seen_at=now)
    if not updated:  # first beat, or the row was pruned while this process stalled
        WorkerProcess.objects.update_or_create(
            worker_id=worker_id,
            defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "seen_at": now},
        )


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


class _Heartbeat(threading.Thread):
    """Beats every quarter of TASK_WORKER_GONE_SECONDS (at most every 15 s), also while the
    main thread runs a long task; a daemon, so a killed process stops beating at once."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name="mentiondesk-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.every = min(15.0, settings.TASK_WORKER_GONE_SECONDS / 4)
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    worker_heartbeat(worker_id=self.worker_id)
                except Exception:  # a missed beat is retried; the worker goes on
                    logger.exception("worker heartbeat failed")
                    connection.close()
        finally:
            connection.close()


# The most tasks a pass runs before the worker looks at its schedules again. A long queue (the
# evidence of thousands of new tickets after an outage) must not hold up the next poll, which
# then goes first (core.priorities).
PASS_TASKS = 50


def tasks_drain(*, worker_id: str | None = None, max_tasks: int | None = None) -> bool:
    """Run queued tasks, highest priority first, until none is left or `max_tasks` have run.
    Returns whether tasks are still waiting."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id or get_random_string(32),
        excluded_queue_names=[],
    ).run()
    return max_tasks is not None and DBTaskResult.objects.ready().exists()


def worker_run(
    *, once: bool = False, interval: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Loop: enqueue the periodic jobs that are due, run up to PASS_TASKS queued tasks, and
    sleep `interval` once the queue is empty.

    With `once`, run the sweeps (outbox, actions, Slack, lost tasks), drain what is queued and
    return."""
    stop = stop or threading.Event()
    worker_id = worker_id_new()
    worker_heartbeat(worker_id=worker_id)
    heartbeat = _Heartbeat(worker_id)
    heartbeat.start()
    last_run: dict[str, float] = {}
    try:
        while not stop.is_set():
            now = time.monotonic()
            for job in schedules():
                if once and not job.sweep:
                    continue
                if once or now - last_run.get(job.name, float("-inf")) >= job.every_seconds:
                    job.enqueue()
                    last_run[job.name] = now
            waiting = False
            try:
                waiting = tasks_drain(worker_id=worker_id, max_tasks=None if once else PASS_TASKS)
            except Exception:
                # One bad task must not stop ingest and delivery for everyone; the task's own
                # result row keeps the traceback.
                logger.exception("worker pass failed")
            close_old_connections()
            if once:
                return
            if not waiting:
                stop.wait(interval)
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
        try:  # a clean stop: nothing of ours is running any more
            WorkerProcess.objects.filter(worker_id=worker_id).delete()
        except Exception:  # the row goes stale and is pruned; nothing else depends on it
            logger.exception("could not remove worker %s", worker_id)
