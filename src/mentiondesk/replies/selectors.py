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


def reply_stopped_by_conversation(*, reply: Reply) -> bool:
    """Whether the reply's last send stopped because the conversation moved on after it was
    queued: sending the same text again would stop again; a person writes a new reply."""
    last = reply.attempts_log.order_by("-pk").values_list("outcome", flat=True).first()
    return last == DeliveryAttempt.Outcome.STOPPED


def reply_person_action(*, reply: Reply) -> str:
    """What a lead can do for a reply waiting for a person: "retry" (proven never sent:
    services.reply_retry), "recheck" (it may be on X: services.reply_recheck searches again),
    or "" (a DM of unknown outcome, a send the conversation stopped: a person writes anew)."""
    if reply.status != Reply.Status.NEEDS_ATTENTION or reply_stopped_by_conversation(reply=reply):
        return ""
    if not reply_may_have_left(reply=reply):
        return "retry"
    return "" if reply.kind == Reply.Kind.DM else "recheck"
