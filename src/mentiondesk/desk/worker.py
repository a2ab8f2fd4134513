"""The background worker: runs periodic jobs when due and drains the task queue.

Each worker process has one id for its life (host, pid, a random suffix) and writes a
heartbeat (`WorkerProcess.seen_at`) from a thread of its own, also while a long task runs. A
task row left RUNNING by a worker that stopped beating is marked failed by whichever worker
runs `lost.task_results_lost_fail` next (a periodic job, see schedules.py)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from mentiondesk.core.models import WorkerProcess
from mentiondesk.desk.schedules import schedules

logger = logging.getLogger(__name__)


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


# How long an idle worker waits before it looks at the queue again. A webhook event's poll
# waits for it (the web process cannot wake the worker), and a mention should reach the queue
# page within about a second (issue 21): an idle pass costs ~2 ms (bench/RESULTS.md, "Arrival
# to screen, measured").
IDLE_SECONDS = 0.25


def worker_run(
    *, once: bool = False, interval: float = IDLE_SECONDS, stop: threading.Event | None = None
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
