from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="default")
def sla_breaches_notify() -> None:
    services.sla_breaches_notify()
