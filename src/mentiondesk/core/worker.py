"""The background worker: runs periodic jobs when due and drains the task queue."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from mentiondesk.schedules import schedules

logger = logging.getLogger(__name__)


def tasks_drain() -> None:
    """Run every queued task, then return."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    ).run()


def worker_run(
    *, once: bool = False, interval: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Loop: enqueue the periodic jobs that are due, drain the queue, sleep `interval`.

    With `once`, run the sweeps (outbox, actions, Slack), drain what is queued and return."""
    stop = stop or threading.Event()
    last_run: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for job in schedules():
            if once and not job.sweep:
                continue
            if once or now - last_run.get(job.name, float("-inf")) >= job.every_seconds:
                job.enqueue()
                last_run[job.name] = now
        try:
            tasks_drain()
        except Exception:
            # One bad task must not stop ingest and delivery for everyone; the task's own
            # result row keeps the traceback.
            logger.exception("worker pass failed")
        close_old_connections()
        if once:
            return
        stop.wait(interval)
