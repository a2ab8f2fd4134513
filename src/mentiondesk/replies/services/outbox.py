"""The outbox's queue: the task that delivers a reply, how services enqueue it, and the sweep
of what is due (queued and due, or sending with an expired lease).

Every service that stores a message to send (create, status, direct, retry) enqueues its
delivery here after commit; the send itself is deliver.py's."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from mentiondesk.core import priorities

from ..models import Reply
from .deliver import reply_deliver


def reply_delivery_enqueue(*, reply_id: int) -> None:
    """Queue the delivery of reply `reply_id` (call it from `transaction.on_commit`)."""
    reply_deliver_task.enqueue(reply_id=reply_id)


# Defined among the services that enqueue it, not in tasks.py (which imports this package),
# so no import hides in a function. Its path is stored with every queued row: it stays
# mentiondesk.replies.services.outbox.reply_deliver_task (desk/migrations/0001_moved_task_paths).
@task(queue_name="outbox", priority=priorities.OUTBOX)
def reply_deliver_task(*, reply_id: int) -> None:
    reply_deliver(reply_id=reply_id)


def outbox_due(*, limit: int = 100) -> list[int]:
    """Ids of replies a worker should try now: queued and due, or sending with an expired lease."""
    now = timezone.now()
    return list(
        Reply.objects.filter(
            Q(status=Reply.Status.QUEUED, not_before__isnull=True)
            | Q(status=Reply.Status.QUEUED, not_before__lte=now)
            | Q(status=Reply.Status.SENDING, lease_until__lte=now)
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_drain() -> int:
    """Deliver every due reply once; returns how many were tried.

    Once a handle's reply is put off (rate limited, or X unreachable), the handle's other
    replies wait for the next sweep untried: each would be put off the same way, at the cost of
    an attempt row, and of a timeout each while X is unreachable. Other handles go on."""
    due = outbox_due()
    handles = dict(Reply.objects.filter(pk__in=due).values_list("pk", "handle_id"))
    put_off: set[int] = set()
    tried = 0
    for reply_id in due:
        if handles.get(reply_id) in put_off:
            continue
        reply = reply_deliver(reply_id=reply_id)
        tried += 1
        if reply.status == Reply.Status.QUEUED and reply.not_before is not None:
            put_off.add(reply.handle_id)
    return tried
