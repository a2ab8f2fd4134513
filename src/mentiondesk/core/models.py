from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerProcess(models.Model):
    """A running `mentiondesk worker` process and when it last said so (its heartbeat).

    django_tasks_db marks a task RUNNING with the worker's id and nothing else: a worker killed
    mid-task leaves the row RUNNING for good. A task whose worker has no recent heartbeat here
    was lost with that process (`task_results_lost_fail`)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.worker_id} (seen {self.seen_at:%H:%M:%S})"
