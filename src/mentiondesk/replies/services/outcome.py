"""A send's outcome, recorded: sent (our post stored, the ticket answered) or parked for a
person. Shared by delivery (deliver.py) and reconciliation (reconcile.py), whichever learns
what happened to the send."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Post
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent

from ..models import DeliveryAttempt, Reply

logger = logging.getLogger(__name__)

# What a reply of a kind sets off once recorded sent, called inside that transaction (so it
# may add `transaction.on_commit` work): a status update's follow-ups (status.py). The module
# of that kind fills it in, for it builds on this one: sending a status update creates replies
# that are sent in turn, so importing it here would close a cycle of imports.
REPLY_SENT_HOOKS: dict[str, Callable[[Reply], None]] = {}


def network_name(reply: Reply) -> str:
    """The reply's network, as messages to a person name it ("X", "Mastodon", "Bluesky")."""
    return network_facts(reply.handle.network).label


def reply_record_sent(
    *,
    reply: Reply,
    attempt: DeliveryAttempt,
    remote: RemotePost | None,
    outcome: str,
    dm_event_id: str = "",
) -> Reply:
    """Record a send that happened: our post (none for a DM), the reply `sent`, the ticket's
    first response, the timeline link, a note when the handle was not the policy's choice,
    and what its kind sets off (`REPLY_SENT_HOOKS`). A DM's event names its handle and X's
    event id: the read of DMs (channels.dms) takes the requester's answers after it onto the
    ticket."""
    now = timezone.now()
    with transaction.atomic():
        reply = Reply.objects.select_for_update().select_related("handle").get(pk=reply.pk)
        ticket = (
            Ticket.objects.select_for_update().get(pk=reply.ticket_id) if reply.ticket_id else None
        )
        post = None if remote is None else _post_record(reply, ticket, remote, now)
        reply.status = Reply.Status.SENT
        reply.post = post
        reply.sent_at = now
        reply.lease_until = None
        reply.reason = ""
        reply.save(
            update_fields=["status", "post", "sent_at", "lease_until", "reason", "updated_at"]
        )
        attempt.outcome = outcome
        attempt.finished_at = now
        attempt.save(update_fields=["outcome", "finished_at"])
        if ticket is not None:
            if ticket.first_response_at is None:
                ticket.first_response_at = post.created_at if post else now
                ticket.save(update_fields=["first_response_at", "updated_at"])
            by_handle = f"@{reply.handle.username}"
            sent = (
                f"Sent from {by_handle}: {post.url}"
                if post
                else f"Direct message sent from {by_handle} to @{ticket.requester_username}"
            )
            TicketEvent.objects.create(
                ticket=ticket,
                kind=TicketEvent.Kind.REPLY_SENT,
                actor=reply.author,
                message=sent,
                data={
                    "reply": reply.pk,
                    "kind": reply.kind,
                    "remote_id": post.remote_id if post else None,
                    "url": post.url if post else None,
                    "in_reply_to": reply.in_reply_to_remote_id or None,
                    **({"automated": True} if reply.is_automated else {}),
                    **(
                        {"handle": reply.handle_id, "dm_event_id": dm_event_id}
                        if reply.kind == Reply.Kind.DM
                        else {}
                    ),
                },
            )
            if post is not None:
                ticket_services.ticket_handle_check(ticket=ticket, post=post)
            sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk])
        hook = REPLY_SENT_HOOKS.get(reply.kind)
        if hook is not None:
            hook(reply)
    return reply


def _post_record(reply: Reply, ticket: Ticket | None, remote: RemotePost, now: datetime) -> Post:
    post, _ = Post.objects.get_or_create(
        network=reply.handle.network,
        remote_id=remote.remote_id,
        defaults={
            "handle": reply.handle,
            "ticket": ticket,
            "direction": Post.Direction.OUTBOUND,
            "author_remote_id": reply.handle.remote_id,
            "author_username": reply.handle.username,
            "text": remote.text or reply.text,
            "created_at": remote.created_at or now,
            "conversation_id": ticket.conversation_id if ticket else remote.conversation_id,
            "in_reply_to_remote_id": reply.in_reply_to_remote_id,
            "raw": remote.raw,
        },
    )
    if post.ticket_id is None and ticket is not None:
        post.ticket = ticket
        post.save(update_fields=["ticket"])
    return post


def reply_park(*, reply: Reply, attempt: DeliveryAttempt, outcome: str, reason: str) -> Reply:
    """Stop and ask a person: the reply needs attention, its ticket goes back to open."""
    now = timezone.now()
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.NEEDS_ATTENTION, lease_until=None, reason=reason, updated_at=now
        )
        attempt.outcome, attempt.detail, attempt.finished_at = outcome, reason, now
        attempt.save(update_fields=["outcome", "detail", "finished_at"])
        if reply.ticket_id is not None:
            Ticket.objects.filter(pk=reply.ticket_id).exclude(status=Ticket.Status.CLOSED).update(
                status=Ticket.Status.OPEN, solved_at=None, updated_at=now
            )
            TicketEvent.objects.create(
                ticket_id=reply.ticket_id,
                kind=TicketEvent.Kind.REPLY_NEEDS_ATTENTION,
                message=reason,
                data={"reply": reply.pk},
            )
            sla_services.tickets_sla_refresh(ticket_ids=[reply.ticket_id])
    logger.warning("reply %s needs attention: %s", reply.pk, reason)
    reply.refresh_from_db()
    return reply
