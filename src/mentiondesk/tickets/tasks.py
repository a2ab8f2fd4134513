from __future__ import annotations

from django_tasks import task

from . import search


@task(queue_name="default")
def ticket_documents_refresh() -> None:
    search.ticket_documents_refresh()
