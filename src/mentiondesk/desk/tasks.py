from __future__ import annotations

from django_tasks import task

from mentiondesk.desk import worker


@task()
def task_results_lost_fail() -> None:
    worker.task_results_lost_fail()
