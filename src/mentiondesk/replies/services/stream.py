"""Stream mode: handles that answer from a live column (seed: @MovingToGitLab "responds from
Tweetdeck") still reply through the outbox, so every answer is recorded, threaded, sent at
most once, and no post gets answered twice from the stream and the desk."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Post
from mentiondesk.core.errors import DomainError
from mentiondesk.tickets.models import ACTIVE_STATUSES, Ticket, TicketEvent

from ..models import Reply
from .create import reply_create


def stream_reply(
    *,
    post: Post,
    by: User,
    text: str,
    idempotency_key: str | None = None,
    another_reply: bool = False,
) -> Reply:
    """Answer a stream post directly. The post's conversation gets a ticket (solved by this
    reply, so it never waits in the desk's queue) and the reply goes through the outbox with
    every guardrail: handle choice, collision guard, at-most-once delivery.

    Raises DomainError (not an inbound post), Collision (already answered from anywhere: the
    desk, the stream, automation or another client; `another_reply` confirms a second
    answer, as in `reply_create`), and whatever `reply_create` raises."""
    if post.direction != Post.Direction.INBOUND:
        raise DomainError("only posts by others are answered from the stream")
    known = post.ticket
    try:
        with transaction.atomic():
            ticket = known or _ticket_for(post)
            return reply_create(
                ticket=ticket,
                author=by,
                text=text,
                idempotency_key=idempotency_key,
                status_after=Ticket.Status.SOLVED,
                another_reply=another_reply,
            )
    except DomainError:
        # A ticket made for this send was rolled back with it: the next try (another reply,
        # confirmed) must not look for it.
        post.ticket = known
        raise


def _ticket_for(post: Post) -> Ticket:
    """The active ticket of the post's requester and conversation, created if needed."""
    existing = Ticket.objects.filter(
        network=post.network,
        conversation_id=post.conversation_id,
        requester_remote_id=post.author_remote_id,
        status__literal_in=ACTIVE_STATUSES,
    ).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = Ticket.objects.create(
                    network=post.network,
                    # None only once the handle is deleted (SET_NULL); the database refuses it.
                    handle=post.handle,  # type: ignore[misc]
                    conversation_id=post.conversation_id,
                    requester_remote_id=post.author_remote_id,
                    requester_username=post.author_username,
                    subject=post.text[:140],
                    created_at=post.created_at,
                    last_inbound_at=post.created_at,
                )
                TicketEvent.objects.create(
                    ticket=existing, kind=TicketEvent.Kind.CREATED, message="From the stream"
                )
        except IntegrityError:
            # Another agent opened it at the same moment: use theirs.
            existing = Ticket.objects.get(
                network=post.network,
                conversation_id=post.conversation_id,
                requester_remote_id=post.author_remote_id,
                status__literal_in=ACTIVE_STATUSES,
            )
    Post.objects.filter(
        network=post.network,
        conversation_id=post.conversation_id,
        author_remote_id=post.author_remote_id,
        ticket=None,
    ).update(ticket=existing)
    post.ticket = existing
    return existing
