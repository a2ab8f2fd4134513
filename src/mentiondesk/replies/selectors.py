from __future__ import annotations

from django.db.models import QuerySet

from mentiondesk.core.errors import NotFound
from mentiondesk.tickets.models import Ticket

from .models import DeliveryAttempt, Reply


def reply_get(*, reply_id: int) -> Reply:
    """One reply with its handle and sent post. Raises NotFound."""
    reply = Reply.objects.select_related("handle", "post", "author").filter(pk=reply_id).first()
    if reply is None:
        raise NotFound(f"reply {reply_id} does not exist")
    return reply


def reply_list(*, ticket: Ticket) -> QuerySet[Reply]:
    return Reply.objects.filter(ticket=ticket).select_related("handle", "post", "author")


# X answered, and the answer says no post was made.
_NOTHING_POSTED = frozenset(
    {
        DeliveryAttempt.Outcome.UNREACHABLE,
        DeliveryAttempt.Outcome.RATE_LIMITED,
        DeliveryAttempt.Outcome.REJECTED,
    }
)


def reply_may_have_left(*, reply: Reply) -> bool:
    """Whether some send of `reply` may have reached the network and no search of our
    timeline since found it missing. False means proven never sent: no request left
    (`request_started_at` unset), or X answered that it made nothing, or a complete search
    of the send's window read after it did not find the post. Read-only."""
    may = False
    for outcome, started in reply.attempts_log.order_by("pk").values_list(
        "outcome", "request_started_at"
    ):
        if outcome == DeliveryAttempt.Outcome.RECONCILED_MISSING:
            may = False
        elif started is not None and outcome not in _NOTHING_POSTED:
            may = True
    return may
