"""Reads about the desk's own machinery (background workers and their tasks)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import WorkerProcess


def task_results_lost(*, now: datetime | None = None) -> list[str]:
    """Ids of task rows marked RUNNING whose worker process is gone: the task started more
    than TASK_WORKER_GONE_SECONDS ago and the worker that claimed it (the last of its
    `worker_ids`) has not written a heartbeat for that long, or never did (a worker of a
    version without heartbeats, or one that died before its first).

    Such a row will never finish by itself: django_tasks_db 0.13 has no lease or heartbeat
    of its own (upstream issue #46, still open)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_WORKER_GONE_SECONDS)
    running = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lte=cutoff
    ).values_list("pk", "worker_ids")
    rows = list(running)  # one per busy worker at most, in a healthy fleet
    if not rows:
        return []
    alive = set(
        WorkerProcess.objects.filter(seen_at__gt=cutoff).values_list("worker_id", flat=True)
    )
    return [str(pk) for pk, worker_ids in rows if not worker_ids or worker_ids[-1] not in alive]
