from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import ingest


@task(queue_name="ingest", priority=priorities.INGEST)
def mentions_poll_all() -> None:
    # Named for what it did before each handle had its own interval: queued rows keep the path.
    ingest.mentions_poll_due()
