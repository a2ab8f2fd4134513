from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import services


@task(queue_name="ingest", priority=priorities.INGEST)
def webhook_events_process() -> None:
    services.webhook_events_process()
