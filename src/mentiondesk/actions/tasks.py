from __future__ import annotations

from django_tasks import task

from . import sla


@task(queue_name="default")
def sla_breaches_notify() -> None:
    sla.sla_breaches_notify()
