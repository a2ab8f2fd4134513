"""What a lead does with a reply that needs attention: send it again once it is proven never
sent (`reply_retry`), or have the desk search the network for it again (`reply_recheck`), the
way to that proof. At most once comes first: a reply that may have reached the network is
never sent again blindly."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets.models import Ticket, TicketEvent

from .. import selectors
from ..models import Reply
from .outbox import reply_delivery_enqueue

logger = logging.getLogger(__name__)


class MayHaveBeenSent(Conflict):
    """A send of the reply may have reached the network: it is never sent again blindly."""

    code = "may_have_been_sent"


def reply_retry(*, reply: Reply, by: User) -> Reply:
    """Send again a reply that needs attention and is proven never sent (leads and admins).

    Locks the reply; puts it back in the queue with a fresh count of tries, writes a
    TicketEvent REPLY_RETRIED (the audit log) on its ticket and enqueues delivery after
    commit; the send checks the conversation again (a post since stops it). Raises Forbidden
    for other roles, Conflict when the reply is not waiting for a person, was stopped because
    the conversation moved on, or when a send of it may have reached X
    (`reply_may_have_left`; MayHaveBeenSent): at most once comes first."""
    with transaction.atomic():
        reply = _reply_waiting_lock(
            reply=reply, by=by, refused="only leads and admins can send a reply again"
        )
        if selectors.reply_stopped_by_conversation(reply=reply):
            raise Conflict(
                "Not sent again: the conversation moved on after this reply was written. Read "
                "what came since and write a new reply."
            )
        if selectors.reply_may_have_left(reply=reply):
            check = (
                "Look at the conversation on X; if it is not there, write it again."
                if reply.kind == Reply.Kind.DM
                else "Ask the desk to check X again; once the check shows it missing, it can "
                "be sent again."
            )
            raise MayHaveBeenSent(
                "Not sent again: this reply may already be on X (a send's outcome is unknown "
                f"and no search of the handle's posts has shown it missing). {check}"
            )
        now = timezone.now()
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.QUEUED,
            attempts=0,
            not_before=None,
            lease_until=None,
            reason="",
            updated_at=now,
        )
        status = _ticket_status_restore(reply, now)
        _reply_audit(
            reply, by, TicketEvent.Kind.REPLY_RETRIED, "Sent again, proven never sent", status
        )
        transaction.on_commit(lambda: reply_delivery_enqueue(reply_id=reply.pk))
    reply.refresh_from_db()
    return reply


def reply_recheck(*, reply: Reply, by: User) -> Reply:
    """Search X again for a reply that needs attention and may have been sent (leads and
    admins): the way to the proof `reply_retry` asks for.

    Locks the reply and hands it to the worker as a send whose outcome was never recorded:
    it reconciles (never sends): found → `sent`; not found in the whole window → needs
    attention again, now proven missing, so `reply_retry` accepts it. Writes a TicketEvent
    REPLY_RECHECKED and enqueues delivery after commit. Raises Forbidden for other roles,
    Conflict when the reply is not waiting or nothing needs checking, DomainError for a
    direct message (X gives no way to look one up)."""
    with transaction.atomic():
        reply = _reply_waiting_lock(
            reply=reply, by=by, refused="only leads and admins can ask the desk to check X again"
        )
        if reply.kind == Reply.Kind.DM:
            raise DomainError("direct messages cannot be looked up on X: check the conversation")
        if not selectors.reply_may_have_left(reply=reply):
            raise Conflict("this reply is proven never sent: send it again instead")
        now = timezone.now()
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.SENDING, lease_until=now, updated_at=now
        )
        _reply_audit(reply, by, TicketEvent.Kind.REPLY_RECHECKED, "Asked the desk to check X", "")
        transaction.on_commit(lambda: reply_delivery_enqueue(reply_id=reply.pk))
    reply.refresh_from_db()
    return reply


def _reply_waiting_lock(*, reply: Reply, by: User, refused: str) -> Reply:
    """`reply` locked, when `by` may act on parked replies (else Forbidden saying `refused`)
    and it waits for a person (else Conflict). Call it inside a transaction."""
    if not by.can_reassign:
        raise Forbidden(refused)
    reply = Reply.objects.select_for_update().get(pk=reply.pk)
    if reply.status != Reply.Status.NEEDS_ATTENTION:
        raise Conflict(f"this reply is {reply.get_status_display().lower()}, not waiting")
    return reply


def _ticket_status_restore(reply: Reply, now: datetime) -> str:
    """The ticket of a reply sent again takes back the status the reply set when it was
    queued (its REPLY_QUEUED event), if it is still open as the park left it. Returns the
    ticket's status ("" without a ticket)."""
    if reply.ticket_id is None:
        return ""
    ticket = Ticket.objects.select_for_update().get(pk=reply.ticket_id)
    queued = (
        TicketEvent.objects.filter(
            ticket_id=ticket.pk, kind=TicketEvent.Kind.REPLY_QUEUED, data__reply=reply.pk
        )
        .values_list("data", flat=True)
        .first()
    )
    status_after = (queued or {}).get("status")
    if ticket.status == Ticket.Status.OPEN and status_after in (
        Ticket.Status.PENDING,
        Ticket.Status.SOLVED,
    ):
        ticket.status = status_after
        ticket.solved_at = now if status_after == Ticket.Status.SOLVED else None
        ticket.save(update_fields=["status", "solved_at", "updated_at"])
    return str(ticket.status)


def _reply_audit(reply: Reply, by: User, kind: str, message: str, status: str) -> None:
    """A person's action on a reply, in the audit log (its ticket's events, with the ticket's
    `status` when it set one: the SLA clocks read it) and the log."""
    logger.info("reply %s: %s (%s)", reply.pk, message, by.username)
    if reply.ticket_id is not None:
        TicketEvent.objects.create(
            ticket_id=reply.ticket_id,
            kind=kind,
            actor=by,
            message=f"{message}: {reply.reason}",
            data={"reply": reply.pk, **({"status": status} if status else {})},
        )
        if status:
            sla_services.tickets_sla_refresh(ticket_ids=[reply.ticket_id])
