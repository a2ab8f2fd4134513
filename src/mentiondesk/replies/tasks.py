from __future__ import annotations

from django_tasks import task

from mentiondesk.core import priorities

from . import evidence, services


@task(queue_name="outbox", priority=priorities.OUTBOX_SWEEP)
def outbox_drain() -> None:
    services.outbox_drain()


@task(queue_name="outbox", priority=priorities.OUTBOX)
def post_actions_drain() -> None:
    for action_id in services.post_actions_due():
        services.post_action_run(action_id=action_id)


@task(queue_name="default", priority=priorities.WARM)
def ticket_evidence_warm(*, ticket_id: int) -> None:
    evidence.ticket_evidence_warm(ticket_id=ticket_id)
