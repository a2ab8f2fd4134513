from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="default")
def surges_check() -> None:
    services.surges_check()
