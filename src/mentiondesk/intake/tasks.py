from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import ingest


@task(queue_name="ingest", priority=priorities.INGEST)
def mentions_poll_all() -> None:
    ingest.mentions_poll_all()
