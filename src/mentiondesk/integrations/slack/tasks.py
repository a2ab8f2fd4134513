from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="default")
def slack_outbox_drain() -> None:
    services.slack_outbox_drain()
