"""Tasks queued before an upgrade that moved their functions (issue 19) still run: the
migration points each waiting row at the function's new home."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.test import override_settings
from django.utils.module_loading import import_string
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from mentiondesk.intake.tasks import mentions_poll_all

MIGRATIONS = [
    importlib.import_module(f"mentiondesk.desk.migrations.{name}")
    for name in ("0001_moved_task_paths", "0002_moved_task_paths")
]
DB_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "outbox", "ingest"],
    }
}


@pytest.mark.parametrize("moved", MIGRATIONS)
def test_every_old_path_is_gone_and_every_new_one_is_a_task(moved: Any) -> None:
    for old, new in moved.MOVED.items():
        with pytest.raises(ImportError):
            import_string(old)
        assert isinstance(import_string(new), Task), new


@pytest.mark.parametrize("moved", MIGRATIONS)
@pytest.mark.django_db
@override_settings(TASKS=DB_TASKS)
def test_rows_queued_under_the_old_paths_point_at_the_new_ones(moved: Any) -> None:
    current = mentions_poll_all.enqueue().id
    queued = DBTaskResult.objects.get(id=current)
    for old in moved.MOVED:  # as an older release left them in the queue
        queued.pk, queued.task_path = uuid.uuid4(), old
        queued.save(force_insert=True)

    moved.task_paths_move(apps, None)

    rows = DBTaskResult.objects.exclude(id=current)
    assert sorted(row.task_path for row in rows) == sorted(moved.MOVED.values())
    assert all(isinstance(row.task, Task) for row in rows)
    assert not DBTaskResult.objects.filter(task_path__in=moved.MOVED).exists()
