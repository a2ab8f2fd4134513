from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="ingest")
def mentions_poll_all() -> None:
    services.mentions_poll_all()
