from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="ingest")
def webhook_events_process() -> None:
    services.webhook_events_process()
