"""Likes and deletes on the network. Both are safe to repeat, so a worker simply retries
them until X says done; the rules about who may do them live here."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Unreachable,
)
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core import priorities
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.costs.services import UsageMeter
from mentiondesk.policy.selectors import policy_current
from mentiondesk.replies import selectors as reply_selectors
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import answers
from mentiondesk.tickets.gate import ticket_intent_suggested
from mentiondesk.tickets.models import Ticket, TicketEvent

from ..models import PostAction
from .create import reply_handle_choice

MAX_ACTION_ATTEMPTS = 8


def post_like(*, post: Post, by: User, reason: str = "") -> PostAction:
    """Like an inbound post from the handle that would answer it.

    Seed: likes are "for promoting positive feedback ... Avoid using it for anything else."
    Allowed without a reason on tickets whose intent is in the policy's `like_intents`
    (praise); anything else needs `reason`, which is audited as an override.
    Raises Forbidden (light agents), DomainError (not an inbound post, no reason), Conflict
    (already liked)."""
    if not by.can_reply:
        raise Forbidden("light agents cannot like posts")
    if post.direction != Post.Direction.INBOUND:
        raise DomainError("only posts by others can be liked")
    intents = policy_current().rules.like_intents
    # Read the ticket afresh: its intent may have changed since `post` was loaded.
    ticket = (
        Ticket.objects.filter(pk=post.ticket_id).first() if post.ticket_id is not None else None
    )
    intent = ticket.intent if ticket else ""
    # Triage's suggestion (below [triage] act_above) unlocks nothing: a person confirms it.
    suggested = ticket is not None and ticket_intent_suggested(ticket=ticket)
    reason = reason.strip()
    override = intent not in intents or suggested
    if override and not reason:
        labels = ", ".join(Intent(i).label.lower() for i in intents) or "nothing"
        what = Intent(intent).label.lower() if intent else "not triaged"
        if suggested and ticket is not None:
            what = f"only suggested as {what} ({ticket.intent_confidence or 0:.0%} sure)"
        raise DomainError(
            f"likes are for positive feedback ({labels}); this post is {what}. Confirm its "
            "label, or give a reason to like it anyway (it is recorded).",
            field="reason",
        )
    if (
        PostAction.objects.filter(post=post, kind=PostAction.Kind.LIKE)
        .exclude(status=PostAction.Status.FAILED)
        .exists()
    ):
        raise Conflict("this post is already liked")
    handle = (
        reply_handle_choice(ticket=ticket, user=by, threaded=False).handle
        if ticket
        else post.handle
    )
    if handle is None:
        raise DomainError("no handle of ours can like this post")
    return _action_queue(
        kind=PostAction.Kind.LIKE,
        post=post,
        handle=handle,
        by=by,
        reason=reason,
        message=(f"Liked from @{handle.username}" + (f" (override: {reason})" if override else "")),
        event=TicketEvent.Kind.LIKED,
        data={"override": override, "reason": reason},
    )


def post_delete(*, post: Post, by: User, reason: str = "") -> PostAction:
    """Delete one of our posts (seed: tweets "sent accidentally"). Its author may, and so
    may the policy's `delete_roles` (leads). The original text is kept in the audit event.
    Raises Forbidden, DomainError (not ours), Conflict (already deleted, or a delete of it is
    already queued or running: one action per post, also for two people clicking at once)."""
    if post.direction != Post.Direction.OUTBOUND or post.handle is None:
        raise DomainError("only our own posts can be deleted")
    if post.deleted_at is not None:
        raise Conflict("this post is already deleted")
    author_id = getattr(getattr(post, "reply", None), "author_id", None)
    if by.pk != author_id and by.role not in policy_current().rules.delete_roles:
        raise Forbidden("only the post's author or a lead deletes it")
    with transaction.atomic():
        # The post's row lock makes the check and the queuing one step for concurrent callers.
        Post.objects.select_for_update().filter(pk=post.pk).first()
        if (
            PostAction.objects.filter(post=post, kind=PostAction.Kind.DELETE)
            .exclude(status=PostAction.Status.FAILED)
            .exists()
        ):
            raise Conflict("a delete is already queued for this post")
        return _action_queue(
            kind=PostAction.Kind.DELETE,
            post=post,
            handle=post.handle,
            by=by,
            reason=reason.strip(),
            message=f"Deleting @{post.handle.username}'s post {post.url}: “{post.text}”",
            event=TicketEvent.Kind.POST_DELETED,
            data={"text": post.text, "url": post.url, "reason": reason.strip()},
        )


def _action_queue(
    *,
    kind: str,
    post: Post,
    handle: Handle,
    by: User,
    reason: str,
    message: str,
    event: str,
    data: dict[str, object],
) -> PostAction:
    with transaction.atomic():
        action = PostAction.objects.create(
            kind=kind, post=post, handle=handle, by=by, reason=reason
        )
        if post.ticket_id is not None:
            TicketEvent.objects.create(
                ticket_id=post.ticket_id,
                kind=event,
                actor=by,
                message=message,
                data={**data, "action": action.pk, "post": post.remote_id},
            )
        transaction.on_commit(lambda: _enqueue(action.pk))
    return action


def _enqueue(action_id: int) -> None:
    post_action_run_task.enqueue(action_id=action_id)


# Beside the service it runs (see outbox.reply_deliver_task).
@task(queue_name="outbox", priority=priorities.OUTBOX)
def post_action_run_task(*, action_id: int) -> None:
    post_action_run(action_id=action_id)


def post_action_run(*, action_id: int, connector: Connector | None = None) -> PostAction:
    """Do a queued like or delete. Retries later when X is unreachable or rate limited (and
    after an unknown outcome: both are safe to repeat); fails with X's reason when refused."""
    with transaction.atomic():
        action = (
            PostAction.objects.select_for_update()
            .select_related("post", "handle")
            .get(pk=action_id)
        )
        now = timezone.now()
        if action.status != PostAction.Status.QUEUED or (
            action.not_before and action.not_before > now
        ):
            return action
        action.attempts += 1
        action.save(update_fields=["attempts"])
    try:
        meter = UsageMeter(handle=action.handle, ticket_id=action.post.ticket_id)
        with channel_services.handle_connection(
            handle=action.handle, meter=meter, connector=connector
        ) as x:
            channel_services.handle_resolve_remote_id(handle=action.handle, connector=x)
            if action.kind == PostAction.Kind.LIKE:
                x.like(action.handle.remote_id, action.post.remote_id)
            else:
                x.post_delete(action.post.remote_id)
    except RateLimited as exc:
        return _action_later(action, str(exc), exc.reset_at)
    except (Unreachable, OutcomeUnknown) as exc:
        return _action_later(action, str(exc), None)
    except Rejected as exc:
        if action.kind == PostAction.Kind.DELETE and exc.status == 404:
            return _action_done(action)  # already gone: what we wanted
        return _action_failed(
            action, f"{network_facts(action.handle.network).label} refused: {exc}"
        )
    except (ConnectorError, DomainError) as exc:
        return _action_later(action, str(exc), None)
    return _action_done(action)


def _action_done(action: PostAction) -> PostAction:
    now = timezone.now()
    with transaction.atomic():
        action.status, action.done_at, action.detail = PostAction.Status.DONE, now, ""
        action.save(update_fields=["status", "done_at", "detail"])
        if action.kind == PostAction.Kind.DELETE:
            Post.objects.filter(pk=action.post_id).update(deleted_at=now)
            _answer_withdraw(post=Post.objects.get(pk=action.post_id))
    return action


def _answer_withdraw(*, post: Post) -> None:
    """A deleted post of ours answers nobody: the conversation's first responses are worked
    out again from the posts that remain, and a ticket it had answered goes back to the
    queue where it was (its place is its start) unless another answer of ours, sent or on its
    way, still follows the requester's latest post."""
    answers.conversations_answers_refresh(
        network=post.network, conversations=[post.conversation_id]
    )
    post.refresh_from_db(fields=["ticket"])
    if post.ticket_id is None:
        return
    ticket = Ticket.objects.select_for_update().get(pk=post.ticket_id)
    still_answered = reply_selectors.ticket_answer_get(ticket=ticket) is not None
    if ticket.status == Ticket.Status.PENDING and not still_answered:
        ticket.status = Ticket.Status.OPEN if ticket.first_response_at else Ticket.Status.NEW
        ticket.save(update_fields=["status", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.RESPONSE_UNDONE,
            message=f"@{post.author_username}'s reply {post.url} was deleted: the ticket is "
            f"{ticket.get_status_display().lower()} again and back in the queue",
            data={"post": post.remote_id, "url": post.url, "status": ticket.status},
        )
    sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk])


def _action_later(action: PostAction, detail: str, not_before: datetime | None) -> PostAction:
    if action.attempts >= MAX_ACTION_ATTEMPTS:
        return _action_failed(action, f"gave up after {action.attempts} tries: {detail}")
    action.detail = detail
    action.not_before = not_before or timezone.now() + timedelta(
        seconds=min(300, 2**action.attempts)
    )
    action.save(update_fields=["detail", "not_before"])
    return action


def _action_failed(action: PostAction, detail: str) -> PostAction:
    with transaction.atomic():
        action.status, action.detail = PostAction.Status.FAILED, detail
        action.save(update_fields=["status", "detail"])
        if action.post.ticket_id is not None:
            TicketEvent.objects.create(
                ticket_id=action.post.ticket_id,
                kind=TicketEvent.Kind.ACTION_FAILED,
                message=f"{action.get_kind_display()} failed: {detail}",
                data={"action": action.pk},
            )
    return action


def post_actions_due(*, limit: int = 100) -> list[int]:
    now = timezone.now()
    return list(
        PostAction.objects.filter(status=PostAction.Status.QUEUED)
        .exclude(not_before__gt=now)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
