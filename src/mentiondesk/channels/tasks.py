from __future__ import annotations

from django_tasks import task

from . import services


@task(queue_name="ingest")
def mentions_poll_all() -> None:
    services.mentions_poll_all()


@task(queue_name="ingest")
def posts_enrich(*, network: str, remote_ids: list[str]) -> None:
    services.posts_enrich(network=network, remote_ids=remote_ids)
