from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import evidence, search


@task(queue_name="default")
def ticket_documents_refresh() -> None:
    search.ticket_documents_refresh()


@task(queue_name="default", priority=priorities.WARM)
def ticket_evidence_warm(*, ticket_id: int) -> None:
    evidence.ticket_evidence_warm(ticket_id=ticket_id)
