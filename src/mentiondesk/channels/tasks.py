from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import services


@task(queue_name="ingest", priority=priorities.INGEST)
def mentions_poll_all() -> None:
    services.mentions_poll_all()


@task(queue_name="ingest", priority=priorities.INGEST)
def posts_enrich(*, network: str, remote_ids: list[str]) -> None:
    services.posts_enrich(network=network, remote_ids=remote_ids)
