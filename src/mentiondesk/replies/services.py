"""The outbox: replies are stored first, then sent by a worker, at most once.

Delivery protocol (`reply_deliver`):
1. Claim: lock the reply, mark it `sending` with a lease, pick the post it threads to (the
   requester's newest post, at send time) and record a pending DeliveryAttempt. Commit. From
   here on a crash leaves evidence that a request may have left.
2. Send through the connector, outside any transaction.
3. Record the outcome. Sent: store our post, mark `sent`, stamp the ticket's first response.
   Certainly not sent (unreachable, rate limited): back to `queued` for later. Rejected:
   `needs_attention` with X's reason. Unknown (timeout, 5xx, 403 duplicate, or a lease found
   expired after a crash): reconcile against our recent posts on the network; found → `sent`,
   not found → `needs_attention`. An unknown outcome is never retried blindly.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors.base import (
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    RemotePost,
    Unreachable,
)
from mentiondesk.channels.connectors.x import XConnector
from mentiondesk.channels.models import TIMELINE, Handle, Post
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.policy import rules
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets.models import Ticket, TicketEvent

from .models import DeliveryAttempt, Reply

logger = logging.getLogger(__name__)

X_MAX_CHARS = 280
MAX_UNREACHABLE_ATTEMPTS = 8


def reply_handle_choice(*, ticket: Ticket, user: User) -> rules.HandleChoice:
    """The handle a reply by `user` on `ticket` goes out from, with the reason to show."""
    first = (
        Post.objects.filter(ticket=ticket, direction=Post.Direction.INBOUND)
        .order_by(*TIMELINE)
        .only("mentions")
        .first()
    )
    ours = {h.username.lower() for h in Handle.objects.filter(network=ticket.network)}
    mentioned = {m.lower() for m in (first.mentions if first else [])} & ours
    return rules.reply_handle_choose(
        handle=ticket.handle, mentioned_count=len(mentioned), user=user
    )


def reply_create(
    *,
    ticket: Ticket,
    author: User,
    text: str,
    idempotency_key: str | None = None,
    status_after: str = Ticket.Status.PENDING,
) -> Reply:
    """Queue a reply on `ticket` from the handle the policy chooses, and move the ticket to
    `status_after` (pending or solved).

    Idempotent: the same `idempotency_key` returns the reply already queued, so a double
    submit from two tabs or a retried API call never queues twice. Enqueues delivery after
    commit. Raises Forbidden (light agents; status handle for non-infrastructure users),
    DomainError (empty or too long text, bad status), Conflict (closed ticket)."""
    if not author.can_reply:
        raise Forbidden("light agents cannot reply; add an internal note instead")
    text = text.strip()
    if not text:
        raise DomainError("the reply is empty", field="text")
    if len(text) > X_MAX_CHARS:
        raise DomainError(
            f"the reply is {len(text)} characters; X allows {X_MAX_CHARS}", field="text"
        )
    if status_after not in (Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.SOLVED):
        raise DomainError("status_after must be open, pending or solved", field="status_after")
    key = idempotency_key or str(uuid.uuid4())
    existing = Reply.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.ticket_id != ticket.pk:
            raise Conflict("this idempotency key belongs to a reply on another ticket")
        return existing
    choice = reply_handle_choice(ticket=ticket, user=author)
    # Shown to the agent now; chosen again when the send starts, in case a follow-up arrives.
    latest = ticket_selectors.ticket_latest_inbound(ticket=ticket)
    try:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            if locked.status == Ticket.Status.CLOSED:
                raise Conflict(f"ticket #{ticket.pk} is closed")
            reply = Reply.objects.create(
                ticket=locked,
                handle=choice.handle,
                handle_reason=choice.reason,
                author=author,
                text=text,
                idempotency_key=key,
                in_reply_to_remote_id=latest.remote_id if latest else "",
            )
            if locked.assignee_id is None:
                locked.assignee = author
            locked.status = status_after
            locked.solved_at = timezone.now() if status_after == Ticket.Status.SOLVED else None
            locked.save(update_fields=["assignee", "status", "solved_at", "updated_at"])
            TicketEvent.objects.create(
                ticket=locked,
                kind=TicketEvent.Kind.REPLY_QUEUED,
                actor=author,
                message=text,
                data={"reply": reply.pk, "handle": choice.handle.username},
            )
            transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
    except IntegrityError:
        # Two requests raced with the same key: the other one won; return its reply.
        return Reply.objects.get(idempotency_key=key)
    return reply


def _enqueue_delivery(reply_id: int) -> None:
    from . import tasks  # tasks imports this module

    tasks.reply_deliver.enqueue(reply_id=reply_id)


def reply_deliver(*, reply_id: int, connector: XConnector | None = None) -> Reply:
    """Send reply `reply_id` if it is due, following the protocol in the module docstring.

    Safe to call any number of times, from any number of workers: only the worker that
    claims the reply sends it, and a reply whose previous send has an unknown outcome is
    reconciled, never re-sent."""
    claim = _reply_claim(reply_id=reply_id)
    if claim is None:
        return Reply.objects.get(pk=reply_id)
    reply, attempt, reconcile_first = claim
    try:
        with channel_services.handle_connection(handle=reply.handle, connector=connector) as x:
            return _reply_send(reply, attempt, x, reconcile_first=reconcile_first)
    except (ConnectorError, DomainError) as exc:
        # No connector (token unset) or the handle's id could not be looked up: nothing sent.
        return _reply_retry_later(reply, attempt, DeliveryAttempt.Outcome.UNREACHABLE, str(exc))


def _reply_send(
    reply: Reply, attempt: DeliveryAttempt, x: XConnector, *, reconcile_first: bool
) -> Reply:
    channel_services.handle_resolve_remote_id(handle=reply.handle, connector=x)
    if reconcile_first:
        return _reply_reconcile(reply, attempt, x, "the previous send's outcome was never recorded")
    try:
        remote = x.post_create(reply.text, in_reply_to_id=reply.in_reply_to_remote_id or None)
    except RateLimited as exc:
        return _reply_retry_later(
            reply, attempt, DeliveryAttempt.Outcome.RATE_LIMITED, str(exc), not_before=exc.reset_at
        )
    except Unreachable as exc:
        return _reply_retry_later(reply, attempt, DeliveryAttempt.Outcome.UNREACHABLE, str(exc))
    except OutcomeUnknown as exc:
        return _reply_reconcile(reply, attempt, x, exc.detail)
    except ConnectorError as exc:  # Rejected, or an answer we cannot read: X said no
        return _reply_park(reply, attempt, DeliveryAttempt.Outcome.REJECTED, f"X refused: {exc}")
    return _reply_record_sent(reply, attempt, remote, DeliveryAttempt.Outcome.SENT)


def _reply_claim(*, reply_id: int) -> tuple[Reply, DeliveryAttempt, bool] | None:
    now = timezone.now()
    with transaction.atomic():
        reply = (
            Reply.objects.select_for_update()
            .select_related("ticket", "handle")
            .filter(pk=reply_id)
            .first()
        )
        if reply is None:
            return None
        reconcile_first = False
        if reply.status == Reply.Status.SENDING:
            if reply.lease_until and reply.lease_until > now:
                return None  # another worker is sending it right now
            reconcile_first = True  # a worker died mid-send: the post may exist
        elif reply.status != Reply.Status.QUEUED or (
            reply.not_before is not None and reply.not_before > now
        ):
            return None
        if not reconcile_first:
            latest = ticket_selectors.ticket_latest_inbound(ticket=reply.ticket)
            reply.in_reply_to_remote_id = latest.remote_id if latest else ""
        reply.status = Reply.Status.SENDING
        reply.lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        reply.attempts += 1
        reply.save(
            update_fields=[
                "status",
                "lease_until",
                "attempts",
                "in_reply_to_remote_id",
                "updated_at",
            ]
        )
        attempt = DeliveryAttempt.objects.create(
            reply=reply, in_reply_to_remote_id=reply.in_reply_to_remote_id
        )
    return reply, attempt, reconcile_first


def _reply_reconcile(
    reply: Reply, attempt: DeliveryAttempt, connector: XConnector, why: str
) -> Reply:
    """Look for our post among the handle's recent posts before deciding anything."""
    try:
        found = reply_find_on_network(reply=reply, connector=connector)
    except ConnectorError as exc:
        return _reply_park(
            reply,
            attempt,
            DeliveryAttempt.Outcome.UNKNOWN,
            f"Outcome unknown ({why}) and the check on X failed ({exc}). Look on X before "
            "sending again.",
        )
    if found is not None:
        return _reply_record_sent(reply, attempt, found, DeliveryAttempt.Outcome.RECONCILED_FOUND)
    return _reply_park(
        reply,
        attempt,
        DeliveryAttempt.Outcome.RECONCILED_MISSING,
        f"Outcome unknown ({why}) and the post is not among @{reply.handle.username}'s recent "
        "posts. It was not re-sent, to avoid a duplicate: check on X, then send again.",
    )


def reply_find_on_network(*, reply: Reply, connector: XConnector) -> RemotePost | None:
    """Our post for `reply` on the network, matched by the post it answers and its text.

    X rewrites links as t.co, so links are ignored in the comparison."""
    page = connector.user_posts(
        reply.handle.remote_id, since_id=reply.in_reply_to_remote_id or None
    )
    wanted = _comparable(reply.text)
    for remote in page.posts:
        same_parent = (remote.in_reply_to_id or "") == reply.in_reply_to_remote_id
        if same_parent and _comparable(remote.text) == wanted:
            return remote
    return None


_URL = re.compile(r"https?://\S+")


def _comparable(text: str) -> str:
    return " ".join(_URL.sub("", text).split())


def _reply_record_sent(
    reply: Reply, attempt: DeliveryAttempt, remote: RemotePost, outcome: str
) -> Reply:
    now = timezone.now()
    with transaction.atomic():
        reply = (
            Reply.objects.select_for_update().select_related("ticket", "handle").get(pk=reply.pk)
        )
        ticket = Ticket.objects.select_for_update().get(pk=reply.ticket_id)
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
                "conversation_id": ticket.conversation_id,
                "in_reply_to_remote_id": reply.in_reply_to_remote_id,
                "raw": remote.raw,
            },
        )
        if post.ticket_id is None:
            post.ticket = ticket
            post.save(update_fields=["ticket"])
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
        if ticket.first_response_at is None:
            ticket.first_response_at = post.created_at
            ticket.save(update_fields=["first_response_at", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.REPLY_SENT,
            actor=reply.author,
            message=f"Sent from @{reply.handle.username}: {post.url}",
            data={
                "reply": reply.pk,
                "remote_id": post.remote_id,
                "url": post.url,
                "in_reply_to": reply.in_reply_to_remote_id,
            },
        )
    return reply


def _reply_retry_later(
    reply: Reply,
    attempt: DeliveryAttempt,
    outcome: str,
    detail: str,
    *,
    not_before=None,  # type: ignore[no-untyped-def]
) -> Reply:
    """Nothing reached the network: put the reply back in the queue, later."""
    if (
        outcome == DeliveryAttempt.Outcome.UNREACHABLE
        and reply.attempts >= MAX_UNREACHABLE_ATTEMPTS
    ):
        return _reply_park(
            reply, attempt, outcome, f"X unreachable after {reply.attempts} tries: {detail}"
        )
    now = timezone.now()
    backoff = timedelta(seconds=min(300, 2**reply.attempts))
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.QUEUED,
            lease_until=None,
            not_before=not_before or now + backoff,
            reason=detail,
            updated_at=now,
        )
        attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail, now
        attempt.save(update_fields=["outcome", "detail", "finished_at"])
    reply.refresh_from_db()
    return reply


def _reply_park(reply: Reply, attempt: DeliveryAttempt, outcome: str, reason: str) -> Reply:
    """Stop and ask a person: the reply needs attention, the ticket goes back to open."""
    now = timezone.now()
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.NEEDS_ATTENTION, lease_until=None, reason=reason, updated_at=now
        )
        attempt.outcome, attempt.detail, attempt.finished_at = outcome, reason, now
        attempt.save(update_fields=["outcome", "detail", "finished_at"])
        Ticket.objects.filter(pk=reply.ticket_id).exclude(status=Ticket.Status.CLOSED).update(
            status=Ticket.Status.OPEN, solved_at=None, updated_at=now
        )
        TicketEvent.objects.create(
            ticket_id=reply.ticket_id,
            kind=TicketEvent.Kind.REPLY_NEEDS_ATTENTION,
            message=reason,
            data={"reply": reply.pk},
        )
    logger.warning("reply %s needs attention: %s", reply.pk, reason)
    reply.refresh_from_db()
    return reply


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
    """Deliver every due reply once; returns how many were tried."""
    due = outbox_due()
    for reply_id in due:
        reply_deliver(reply_id=reply_id)
    return len(due)
