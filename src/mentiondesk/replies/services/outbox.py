"""The outbox: replies are stored first, then sent by a worker, at most once.

Delivery protocol (`reply_deliver`):
1. Claim: lock the reply, mark it `sending` with a lease, pick the post it threads to (the
   requester's newest post, at send time) and record a pending DeliveryAttempt. Commit.
2. Just before the request leaves, stamp the attempt's `request_started_at` and renew the
   lease (`_attempt_request_start`, under the reply's lock, only while this attempt still
   holds the reply). Commit. From here on a crash leaves evidence that a request may have
   left; before it, none could have: a worker that dies or loses its database between claim
   and send leaves a reply proven never sent, which a lead can send again (`reply_retry`).
   Send through the connector, outside any transaction.
3. Record the outcome. Sent: store our post, mark `sent`, stamp the ticket's first response.
   Certainly not sent (unreachable, rate limited): back to `queued` for later. Rejected:
   `needs_attention` with X's reason. Unknown (timeout, 5xx, 403 duplicate, or a lease found
   expired after a crash): reconcile against our posts on the network, read within the
   send's window (from its claim to its lease's end, moved to X's clock; after a 403
   duplicate, back to the post the reply answers), at most RECONCILE_MAX_PAGES pages; found →
   `sent`, not found → `needs_attention` saying how far it looked, rate limited → still
   `sending`, the search going on from where it stopped after X's reset. An unknown outcome
   is never retried blindly. A lease found expired on a send whose request never left is
   parked as `not_sent` without asking X.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from mentiondesk.accounts.models import User
from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors import SendKey, network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    RemotePost,
    Unreachable,
)
from mentiondesk.channels.length import X_MAX_WEIGHT
from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core import priorities
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.costs.services import UsageMeter
from mentiondesk.sla import services as sla_services
from mentiondesk.tickets import rules
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import Ticket, TicketEvent

from .. import selectors
from ..models import DeliveryAttempt, Reply
from .automation import AutomationSkipped, automated_reply_allowed

logger = logging.getLogger(__name__)

X_MAX_CHARS = X_MAX_WEIGHT
MAX_UNREACHABLE_ATTEMPTS = 8


def reply_handle_choice(*, ticket: Ticket, user: User, threaded: bool = True) -> rules.HandleChoice:
    """The handle a reply by `user` on `ticket` goes out from, with the reason to show.

    `threaded`: a reply to the requester's latest post, so on X's self-serve plan it must
    come from a handle that post summoned (`rules.reply_handle_choose`); False for what X
    does not restrict that way (likes, direct messages). Raises Forbidden or DomainError
    when no handle may answer."""
    mentioned = ticket_selectors.ticket_mentioned_handles(ticket=ticket)
    latest = ticket_selectors.ticket_latest_inbound(ticket=ticket) if threaded else None
    summoned = ticket_selectors.post_summoned_handles(post=latest) if latest else None
    return rules.reply_handle_choose(
        ticket=ticket, mentioned=mentioned, user=user, summoned=summoned
    )


def reply_create(
    *,
    ticket: Ticket,
    author: User,
    text: str,
    idempotency_key: str | None = None,
    status_after: str = Ticket.Status.PENDING,
    seen_post_id: str | None = None,
    another_reply: bool = False,
    reason: str = "",
    automated: bool = False,
    phase: str = "",
) -> Reply:
    """Queue a reply on `ticket` from the handle the policy chooses, and move the ticket to
    `status_after` (pending or solved).

    Replying takes the ticket (an unassigned one becomes the author's), so the rules of
    taking it outside Play apply (`ticket_take_check`): an advocate answers someone else's
    ticket never, one Play would not give them next only with a `reason` (audited) or not
    at all; a lead takes someone else's over with a `reason` (it becomes theirs). `reason`
    is used only then. `automated` messages (status follow-ups, incident replies) are sent
    for the team, not taken by a person: the rule does not apply to them, they leave the
    assignee as it was, and they mind their manners (`automated_reply_allowed` for their
    incident `phase`, under the ticket's lock: raises AutomationSkipped with the reason). They
    are marked `is_automated`, and so are their REPLY_QUEUED/REPLY_SENT events.

    Idempotent: the same `idempotency_key` returns the reply already queued, so a double
    submit from two tabs or a retried API call never queues twice. Collision guard: when
    `seen_post_id` (the newest post the composer showed) is given and the conversation has
    moved on since, or when the requester's latest post is already answered
    (`ticket_answer_get`: a post of ours from any client, or a desk reply on its way), raises
    Collision saying what changed, who answered and from where.

    `another_reply` is the explicit confirmation of a deliberate second answer (a forgotten
    link, the real answer after an automated follow-up, an incident's all-clear): the latest
    post being answered is then not a collision, and a TicketEvent ANOTHER_REPLY records who
    confirmed it after what; the conversation moving on since `seen_post_id` still is a
    collision. Enqueues delivery after commit. Raises Forbidden (light agents; a status handle
    nobody may use; someone else's ticket; skipping the queue when the policy says never),
    DomainError (empty or too long text, bad status, no reason when one is needed: field
    "reason"), Conflict (closed ticket, collision)."""
    if not author.can_reply:
        raise Forbidden("light agents cannot reply; add an internal note instead")
    text = _checked_text(_addressed(text, ticket=ticket), network=ticket.network)
    if status_after not in (Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.SOLVED):
        raise DomainError("status_after must be open, pending or solved", field="status_after")
    if automated != bool(phase):
        raise ValueError("an automated reply names its phase, and only an automated one does")
    key = idempotency_key or str(uuid.uuid4())
    existing = Reply.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.ticket_id != ticket.pk:
            raise Conflict("this idempotency key belongs to a reply on another ticket")
        return existing
    try:
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().select_related("handle").get(pk=ticket.pk)
            if locked.status == Ticket.Status.CLOSED:
                raise Conflict(f"ticket #{ticket.pk} is closed")
            taken = not automated and ticket_services.ticket_take_check(
                ticket=locked, by=author, reason=reason, via="reply"
            )
            choice = reply_handle_choice(ticket=locked, user=author)
            # Shown to the agent now; chosen again when the send starts.
            latest = ticket_selectors.ticket_latest_inbound(ticket=locked)
            if automated:
                skip = automated_reply_allowed(ticket=locked, phase=phase, latest=latest)
                if skip is not None:
                    raise AutomationSkipped(skip)
            answer = _collision_check(
                ticket=locked, seen_post_id=seen_post_id, latest=latest, another=another_reply
            )
            reply = Reply.objects.create(
                ticket=locked,
                handle=choice.handle,
                handle_reason=choice.reason,
                author=author,
                text=text,
                idempotency_key=key,
                in_reply_to_remote_id=latest.remote_id if latest else "",
                is_automated=automated,
                automation_phase=phase,
            )
            # Automation answers for the team: the ticket stays whoever's (or nobody's) it was.
            if (locked.assignee_id is None and not automated) or taken:
                locked.assignee = author
            locked.status = status_after
            locked.solved_at = timezone.now() if status_after == Ticket.Status.SOLVED else None
            locked.save(update_fields=["assignee", "status", "solved_at", "updated_at"])
            TicketEvent.objects.create(
                ticket=locked,
                kind=TicketEvent.Kind.REPLY_QUEUED,
                actor=author,
                message=text,
                # The status the reply set: SLA clocks pause while a ticket is pending.
                data={
                    "reply": reply.pk,
                    "handle": choice.handle.username,
                    "status": status_after,
                    **({"automated": True, "phase": phase} if automated else {}),
                },
            )
            if answer is not None:
                TicketEvent.objects.create(
                    ticket=locked,
                    kind=TicketEvent.Kind.ANOTHER_REPLY,
                    actor=author,
                    message="Sent another reply, knowing: " + " ".join(answer.describe()),
                    data={
                        "reply": reply.pk,
                        "in_reply_to": reply.in_reply_to_remote_id,
                        "answered_by_post": answer.post.remote_id if answer.post else None,
                        "answered_by_reply": answer.reply.pk if answer.reply else None,
                        "url": answer.url or None,
                    },
                )
            sla_services.tickets_sla_refresh(ticket_ids=[locked.pk])
            transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
    except IntegrityError:
        # Two requests raced with the same key: the other one won; return its reply.
        raced = Reply.objects.filter(idempotency_key=key).first()
        if raced is None:
            # Another automated message of this phase took the ticket's one place first.
            raise AutomationSkipped(f"the {phase} message already went to this ticket.") from None
        return raced
    except Collision as collision:
        # Recorded after the rollback: a stopped send belongs in the audit log too.
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.COLLISION,
            actor=author,
            message=collision.message,
            data={"changes": collision.changes, "text": text},
        )
        raise
    return reply


class Collision(Conflict):
    """The conversation changed since the composer opened, or the requester's latest post is
    already answered; `changes` says how. `answered` holds the "already answered" lines: when
    set, the same send with `another_reply` goes through (code "already_answered" when they
    are all there is)."""

    code = "collision"

    def __init__(self, changes: list[str], *, answered: list[str] | None = None) -> None:
        self.answered = answered or []
        self.changes = changes + self.answered
        super().__init__("Not sent: " + " ".join(self.changes))
        if self.answered and not changes:
            self.code = "already_answered"


def _collision_check(
    *, ticket: Ticket, seen_post_id: str | None, latest: Post | None, another: bool
) -> selectors.TicketAnswer | None:
    """Raises Collision when the send would race a post the agent has not seen, or answer a
    post already answered (unless `another` confirms it). Returns the answer confirmed past."""
    changes: list[str] = []
    if seen_post_id:
        timeline = list(Post.objects.filter(ticket=ticket, deleted_at=None).order_by(*TIMELINE))
        ids = [post.remote_id for post in timeline]
        for post in timeline[ids.index(seen_post_id) + 1 :] if seen_post_id in ids else []:
            verb = "wrote" if post.direction == Post.Direction.INBOUND else "replied"
            changes.append(
                f"@{post.author_username} {verb} “{post.text[:80]}” since you opened it."
            )
    answer = selectors.ticket_answer_get(ticket=ticket, latest=latest) if latest else None
    answered = answer.describe() if answer is not None and not another else []
    if changes or answered:
        raise Collision(changes, answered=answered)
    return answer


def _checked_text(
    text: str, limit: int | None = None, *, weighted: bool = True, network: str = "x"
) -> str:
    """The stripped text, if it fits: as `network` counts a post's length (X's weighted
    length, Mastodon's and Bluesky's graphemes) against its limit, plain length for DMs."""
    facts = network_facts(network)
    limit = facts.text_limit if limit is None else limit
    text = text.strip()
    if not text:
        raise DomainError("the text is empty", field="text")
    length = facts.text_length(text) if weighted else len(text)
    if length > limit:
        raise DomainError(
            f"the text counts {length} characters on {facts.label} ({facts.length_rule}); "
            f"{facts.label} allows {limit}",
            field="text",
        )
    return text


def _addressed(text: str, *, ticket: Ticket) -> str:
    """`text` as it must go out on `ticket`'s network: on Mastodon a reply reaches the
    requester only if it mentions them (the instance adds no mention a reply answers), so it
    starts with "@acct" unless the agent already wrote it there."""
    text = text.strip()
    if not network_facts(ticket.network).reply_mentions_author or not text:
        return text
    mention = f"@{ticket.requester_username}"
    first = text.split(maxsplit=1)[0]
    if first.lower() == mention.lower():
        return text
    return f"{mention} {text}"


def _enqueue_delivery(reply_id: int) -> None:
    reply_deliver_task.enqueue(reply_id=reply_id)


# The task lives beside the service it runs, so enqueueing it needs no import of tasks.py
# (which imports this module).
@task(queue_name="outbox", priority=priorities.OUTBOX)
def reply_deliver_task(*, reply_id: int) -> None:
    reply_deliver(reply_id=reply_id)


def reply_deliver(*, reply_id: int, connector: Connector | None = None) -> Reply:
    """Send reply `reply_id` if it is due, following the protocol in the module docstring.

    Safe to call any number of times, from any number of workers: only the worker that
    claims the reply sends it, and a reply whose previous send has an unknown outcome is
    reconciled, never re-sent."""
    claim = _reply_claim(reply_id=reply_id)
    if claim is None:
        return Reply.objects.get(pk=reply_id)
    reply, attempt, reconcile_first, collided = claim
    if reconcile_first and not selectors.reply_may_have_left(reply=reply):
        return _reply_park(
            reply,
            attempt,
            DeliveryAttempt.Outcome.NOT_SENT,
            "Not sent: the worker stopped (killed, or its database connection lost) before the "
            f"request left for {_on(reply)}, so nothing reached {_on(reply)}. A lead can send it "
            "again.",
        )
    if collided is not None:
        return _reply_park(
            reply,
            attempt,
            DeliveryAttempt.Outcome.STOPPED,
            f"Not sent: @{collided.author_username} replied “{collided.text[:80]}” after this "
            "reply was queued. Read it, then send again if still needed.",
        )
    try:
        meter = UsageMeter(handle=reply.handle, ticket_id=reply.ticket_id)
        with channel_services.handle_connection(
            handle=reply.handle, meter=meter, connector=connector
        ) as x:
            return _reply_send(reply, attempt, x, reconcile_first=reconcile_first)
    except (ConnectorError, DomainError) as exc:
        # No connector (token unset) or the handle's id could not be looked up: nothing sent.
        return _reply_retry_later(reply, attempt, DeliveryAttempt.Outcome.UNREACHABLE, str(exc))


def _reply_send(
    reply: Reply, attempt: DeliveryAttempt, x: Connector, *, reconcile_first: bool
) -> Reply:
    channel_services.handle_resolve_remote_id(handle=reply.handle, connector=x)
    if reconcile_first and not _resend_safe(reply):
        # On a network whose sends carry a key, the send may have been repeated: the post
        # is looked for back to the post it answers, not in the last send's window only.
        return _reply_reconcile(
            reply,
            attempt,
            x,
            "the previous send's outcome was never recorded",
            windowed=not network_facts(reply.handle.network).sends_keyed,
        )
    if reply.kind != Reply.Kind.DM:
        # Who we post as (GET /2/users/me) before the POST: a failure here sent nothing, so
        # it is retried like an unreachable network, not taken for X refusing the post.
        x.author()
    if not _attempt_request_start(reply, attempt):
        return Reply.objects.get(pk=reply.pk)  # another worker took the reply over
    try:
        if reply.kind == Reply.Kind.DM:
            sent = x.dm_send(_dm_recipient(reply), reply.text)
            return _reply_record_sent(
                reply, attempt, None, DeliveryAttempt.Outcome.SENT, dm_event_id=sent["dm_event_id"]
            )
        remote = x.post_create(
            reply.text,
            in_reply_to_id=reply.in_reply_to_remote_id or None,
            **network_facts(reply.handle.network).send_keys(_send_key(reply)),
        )
    except RateLimited as exc:
        return _reply_retry_later(
            reply, attempt, DeliveryAttempt.Outcome.RATE_LIMITED, str(exc), not_before=exc.reset_at
        )
    except Unreachable as exc:
        return _reply_retry_later(reply, attempt, DeliveryAttempt.Outcome.UNREACHABLE, str(exc))
    except OutcomeUnknown as exc:
        if _resend_safe(reply):
            # The network dedupes on the send's key: the same send again returns the post
            # if this one made it, and makes it once if not. Queued again, never parked.
            return _reply_retry_later(
                reply,
                attempt,
                DeliveryAttempt.Outcome.UNKNOWN,
                f"{exc.detail}; sent again "
                "with the same key (the network makes the post at most once)",
            )
        # A 403 duplicate says an identical post exists, possibly from before this send; a
        # keyed send may have been repeated (the post made by an earlier one): read back to
        # the post answered.
        windowed = exc.status != 403 and not network_facts(reply.handle.network).sends_keyed
        return _reply_reconcile(reply, attempt, x, exc.detail, windowed=windowed)
    except ConnectorError as exc:  # Rejected, or an answer we cannot read: X said no
        return _reply_park(
            reply, attempt, DeliveryAttempt.Outcome.REJECTED, f"{_on(reply)} refused: {exc}"
        )
    return _reply_record_sent(reply, attempt, remote, DeliveryAttempt.Outcome.SENT)


# A send again with the same key is trusted only this long before the network forgets the key
# (Mastodon keeps an Idempotency-Key an hour): past it, our posts are searched instead.
KEY_WINDOW_MARGIN = timedelta(minutes=5)


def _send_key(reply: Reply) -> SendKey:
    """What the network's key for this reply is made of: the reply's stable key, its own
    creation time and id (Bluesky's record key), and the post it answers (Mastodon mirrors
    its visibility: a reply to a direct mention stays direct)."""
    parent = (
        Post.objects.filter(network=reply.handle.network, remote_id=reply.in_reply_to_remote_id)
        .values_list("raw", flat=True)
        .first()
        if reply.in_reply_to_remote_id
        else None
    )
    return SendKey(
        key=reply.idempotency_key,
        created_at=reply.created_at,
        seed=reply.pk,
        parent_raw=parent if isinstance(parent, dict) else {},
    )


def _resend_safe(reply: Reply) -> bool:
    """Whether sending `reply` again after an unknown outcome cannot post twice: its network
    dedupes sends on their key (`sends_keyed`), and its first request that may have left is
    recent enough for the network to remember the key. X's sends carry no key: never."""
    if reply.kind != Reply.Kind.REPLY:
        return False
    facts = network_facts(reply.handle.network)
    if not facts.sends_keyed:
        return False
    if facts.key_window_seconds is None:
        return True
    first = (
        DeliveryAttempt.objects.filter(reply_id=reply.pk, request_started_at__isnull=False)
        .order_by("pk")
        .values_list("request_started_at", flat=True)
        .first()
    )
    window = timedelta(seconds=facts.key_window_seconds) - KEY_WINDOW_MARGIN
    return first is None or timezone.now() < first + window


def _on(reply: Reply) -> str:
    """The reply's network, as messages to a person name it ("X", "Mastodon", "Bluesky")."""
    return network_facts(reply.handle.network).label


def _dm_recipient(reply: Reply) -> str:
    if reply.ticket is None:
        raise DomainError("a direct message needs the ticket of its recipient")
    return reply.ticket.requester_remote_id


def _reply_claim(*, reply_id: int) -> tuple[Reply, DeliveryAttempt, bool, Post | None] | None:
    """Lock the reply and mark it sending; None when it is not due or someone else has it.
    Also returns an outbound post that appeared on the ticket after the reply was queued
    (from any client): the send must stop rather than answer twice. A post already on the
    desk when the reply was queued does not stop it: the agent saw it (a reply confirmed with
    `another_reply` knowingly follows it)."""
    now = timezone.now()
    with transaction.atomic():
        reply = (
            # of=self: the ticket is an outer join (status updates have none).
            Reply.objects.select_for_update(of=("self",))
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
        elif _resend_pending(reply):
            # Queued again after an unknown outcome on a network that dedupes sends by key:
            # still a send whose outcome is unknown (the same post answered; our own post
            # read back meanwhile is no collision). `_reply_send` sends it again with the same
            # key while the network remembers it, else searches for it.
            reconcile_first = True
        collided = None
        if not reconcile_first and reply.kind == Reply.Kind.REPLY and reply.ticket is not None:
            latest = ticket_selectors.ticket_latest_inbound(ticket=reply.ticket)
            reply.in_reply_to_remote_id = latest.remote_id if latest else ""
            collided = (
                Post.objects.filter(
                    ticket=reply.ticket,
                    direction=Post.Direction.OUTBOUND,
                    deleted_at=None,
                )
                # When the desk learnt of it, on the desk's clock, not when X created it: an
                # answer from another client pulled in after queueing may be older than the
                # reply, and a post known before may carry a later time from X's clock.
                .filter(stored_at__gt=reply.created_at)
                .order_by(*TIMELINE)
                .first()
            )
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
    return reply, attempt, reconcile_first, collided


def _resend_pending(reply: Reply) -> bool:
    """Whether the reply was queued again after a send of unknown outcome (only on networks
    whose sends carry a key: `_reply_send`); elsewhere such a reply waits for a person."""
    last = (
        DeliveryAttempt.objects.filter(reply_id=reply.pk)
        .order_by("-pk")
        .values_list("outcome", flat=True)
        .first()
    )
    return network_facts(reply.handle.network).sends_keyed and (
        last == DeliveryAttempt.Outcome.UNKNOWN
    )


def _attempt_request_start(reply: Reply, attempt: DeliveryAttempt) -> bool:
    """Record, and commit, that `attempt`'s request is about to leave; False when the attempt
    no longer holds the reply (its lease ran out and another worker claimed it), and then
    nothing may be sent.

    The lease is renewed from now, so it still outlasts the request's timeout (settings), and
    the send's window (SearchProgress) starts now: X can only have created the post between
    now and the lease's end. A database error here propagates before anything was sent."""
    now = timezone.now()
    with transaction.atomic():
        held = (
            Reply.objects.select_for_update()
            .filter(pk=reply.pk, status=Reply.Status.SENDING)
            .values_list("pk", flat=True)
            .first()
        )
        latest = DeliveryAttempt.objects.filter(reply_id=reply.pk).order_by("-pk").first()
        if held is None or latest is None or latest.pk != attempt.pk:
            return False
        reply.lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        reply.search_progress = SearchProgress(sent_from=now).as_json()
        Reply.objects.filter(pk=reply.pk).update(
            lease_until=reply.lease_until, search_progress=reply.search_progress, updated_at=now
        )
        attempt.request_started_at = now
        attempt.save(update_fields=["request_started_at"])
    return True


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
    if not by.can_reassign:
        raise Forbidden("only leads and admins can send a reply again")
    with transaction.atomic():
        reply = Reply.objects.select_for_update().get(pk=reply.pk)
        if reply.status != Reply.Status.NEEDS_ATTENTION:
            raise Conflict(f"this reply is {reply.get_status_display().lower()}, not waiting")
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
        transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
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
    if not by.can_reassign:
        raise Forbidden("only leads and admins can ask the desk to check X again")
    with transaction.atomic():
        reply = Reply.objects.select_for_update().get(pk=reply.pk)
        if reply.status != Reply.Status.NEEDS_ATTENTION:
            raise Conflict(f"this reply is {reply.get_status_display().lower()}, not waiting")
        if reply.kind == Reply.Kind.DM:
            raise DomainError("direct messages cannot be looked up on X: check the conversation")
        if not selectors.reply_may_have_left(reply=reply):
            raise Conflict("this reply is proven never sent: send it again instead")
        now = timezone.now()
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.SENDING, lease_until=now, updated_at=now
        )
        _reply_audit(reply, by, TicketEvent.Kind.REPLY_RECHECKED, "Asked the desk to check X", "")
        transaction.on_commit(lambda: _enqueue_delivery(reply.pk))
    reply.refresh_from_db()
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


def _reply_reconcile(
    reply: Reply,
    attempt: DeliveryAttempt,
    connector: Connector,
    why: str,
    *,
    windowed: bool = True,
) -> Reply:
    """Look for our post on the handle's timeline (back to the post the reply answers, and
    within the send's window unless not `windowed`) before deciding anything."""
    if reply.kind == Reply.Kind.DM:
        return _reply_park(
            reply,
            attempt,
            DeliveryAttempt.Outcome.UNKNOWN,
            f"Outcome unknown ({why}). Direct messages cannot be looked up here: check the "
            f"conversation on {_on(reply)} before sending again.",
        )
    progress = SearchProgress.from_json(reply.search_progress)
    if not windowed:
        progress.sent_from = None
    try:
        search = reply_find_on_network(reply=reply, connector=connector, progress=progress)
    except RateLimited as exc:
        return _reply_reconcile_later(reply, attempt, why, exc, progress)
    except ConnectorError as exc:
        _search_progress_clear(reply)
        return _reply_park(
            reply,
            attempt,
            DeliveryAttempt.Outcome.UNKNOWN,
            f"Outcome unknown ({why}) and the check on {_on(reply)} failed ({exc}). Look on "
            f"{_on(reply)} before "
            "sending again.",
        )
    _search_progress_clear(reply)
    if search.found is not None:
        return _reply_record_sent(
            reply, attempt, search.found, DeliveryAttempt.Outcome.RECONCILED_FOUND
        )
    # Only a search that read the whole window is proof the post is not there
    # (selectors.reply_may_have_left): one stopped at the page cap leaves the outcome unknown.
    return _reply_park(
        reply,
        attempt,
        DeliveryAttempt.Outcome.RECONCILED_MISSING
        if search.complete
        else DeliveryAttempt.Outcome.UNKNOWN,
        f"Outcome unknown ({why}) and the post is not among @{reply.handle.username}'s "
        f"{search.looked_at()}. It was not re-sent, to avoid a duplicate: check on {_on(reply)}, "
        "then send "
        "again.",
    )


def _reply_reconcile_later(
    reply: Reply, attempt: DeliveryAttempt, why: str, exc: RateLimited, progress: SearchProgress
) -> Reply:
    """X's window for reading our timeline is spent: the outcome is still unknown, so the
    reply stays `sending` and its lease ends at X's reset; the sweep reconciles it then
    (never re-sends it), reading on from `progress`."""
    now = timezone.now()
    until = max(exc.reset_at, now) + timedelta(seconds=1)
    detail = f"Outcome unknown ({why}); the check on {_on(reply)} waits for its rate limit: {exc}"
    with transaction.atomic():
        Reply.objects.filter(pk=reply.pk).update(
            status=Reply.Status.SENDING,
            lease_until=until,
            reason=detail,
            search_progress=progress.as_json(),
            updated_at=now,
        )
        # The search was rate limited, not the send: an attempt that sent its request keeps
        # an unknown outcome (selectors.reply_may_have_left reads RATE_LIMITED as "X made
        # nothing").
        attempt.outcome, attempt.detail, attempt.finished_at = (
            DeliveryAttempt.Outcome.UNKNOWN
            if attempt.request_started_at
            else DeliveryAttempt.Outcome.RATE_LIMITED,
            detail,
            now,
        )
        attempt.save(update_fields=["outcome", "detail", "finished_at"])
    reply.refresh_from_db()
    return reply


def _search_progress_clear(reply: Reply) -> None:
    """The search ended: a later send of this reply (sent again by a person) starts afresh."""
    if reply.search_progress:
        Reply.objects.filter(pk=reply.pk).update(search_progress={})
        reply.search_progress = {}


# The window is moved to X's clock by the skew measured from its Date header (to the second),
# and a post's time and the moment X stamped it can still differ a little: a send's post is
# looked for this much either side of the time it could have been created.
SEND_WINDOW_MARGIN = timedelta(minutes=1)
# X may refuse an end_time too close to now; a window ending later is read up to now.
END_TIME_LAG = timedelta(seconds=10)


@dataclass
class SearchProgress:
    """A search of our timeline for a send's post.

    `sent_from` is when the send began (its claim): X can only have created the post between
    then and the end of the send's lease (a worker gives up on X before its lease ends), so the
    search reads that window (`window`) and no further back, however many posts were made
    since. Without it (a 403 duplicate: the identical post may be older), the search reads
    back to the post the reply answers.

    The rest is how far the search got: the next page's token, the pages and posts read, the
    oldest post's time, and the end_time of its first page (pages after it must ask the same).
    Kept on the reply when X's rate limit interrupts the search, so the next try reads on
    instead of starting over: with a window smaller than the pages to read (a few calls per
    15 minutes on X's Basic tier), starting over never ends. The pages already read need no
    second look: the post sought was sent before the search began."""

    sent_from: datetime | None = None
    token: str | None = None
    pages: int = 0
    posts: int = 0
    oldest_at: datetime | None = None
    end_time: datetime | None = None

    _TIMES = ("sent_from", "oldest_at", "end_time")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchProgress:
        times = {
            name: datetime.fromisoformat(data[name]) if data.get(name) else None
            for name in cls._TIMES
        }
        return cls(
            token=data.get("token") or None,
            pages=int(data.get("pages", 0)),
            posts=int(data.get("posts", 0)),
            **times,
        )

    def as_json(self) -> dict[str, Any]:
        times = {name: getattr(self, name) for name in self._TIMES}
        return {
            "token": self.token,
            "pages": self.pages,
            "posts": self.posts,
            **{name: t.isoformat() if t else None for name, t in times.items()},
        }

    def window(self) -> tuple[datetime, datetime] | None:
        """From when to when X could have created the send's post, margins included, on the
        desk's clock (`reply_find_on_network` moves it to X's)."""
        if self.sent_from is None:
            return None
        lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        return self.sent_from - SEND_WINDOW_MARGIN, self.sent_from + lease + SEND_WINDOW_MARGIN


@dataclass(frozen=True)
class NetworkSearch:
    """What `reply_find_on_network` read: the post when found, and how far it looked."""

    found: RemotePost | None
    pages: int
    posts: int
    complete: bool  # read the whole window, back to the post the reply answers at most
    oldest_at: datetime | None = None
    since_parent: bool = True  # the reply answers a post: the search stops there
    window: tuple[datetime, datetime] | None = None  # SearchProgress.window, on X's clock
    skew: timedelta = timedelta(0)  # X's clock minus the desk's
    network_label: str = "X"  # whose timeline was read, for the person reading
    timeline_endpoint: str = "GET /2/users/:id/tweets"

    def looked_at(self) -> str:
        """How far the search went, for a person deciding whether to look on X."""
        read = f"{self.posts:,} post{'s' if self.posts != 1 else ''}"
        if self.complete:
            if self.window:
                start, end = self.window
                return (
                    f"posts from {start:%Y-%m-%d %H:%M:%S} to {end:%H:%M:%S} UTC{self._clock()} "
                    f"({read} read)"
                )
            since = " since the post it answers" if self.since_parent else ""
            return f"posts{since} ({read} read)"
        oldest = f", back to {self.oldest_at:%Y-%m-%d %H:%M} UTC" if self.oldest_at else ""
        return (
            f"newest {read} ({self.pages} page{'s' if self.pages != 1 else ''} of "
            f"{self.timeline_endpoint}, the cap{oldest}); older posts were not read"
        )

    def _clock(self) -> str:
        seconds = int(self.skew.total_seconds())
        if not seconds:
            return ""
        way = "ahead of" if seconds > 0 else "behind"
        return f" on {self.network_label}'s clock, {abs(seconds)} s {way} the desk's"


def reply_find_on_network(
    *, reply: Reply, connector: Connector, progress: SearchProgress | None = None
) -> NetworkSearch:
    """Our post for `reply` on the network, matched by the post it answers and its text.

    Reads the handle's timeline newest first, page after page, within the send's window
    (`progress.window()`, when known) and back to the post the reply answers (`since_id`) at
    most, at most settings.RECONCILE_MAX_PAGES pages in all: each page is a metered,
    rate-limited request. The window is asked on X's clock: moved by the skew the connector
    measured from X's Date header (one GET /2/users/me first when this process has no
    measurement yet). Goes on from `progress` (updated page by page) when given. Stops at the
    first match. X rewrites links as t.co, so links are ignored in the comparison. Raises
    ConnectorError (RateLimited included) when a page cannot be read."""
    comparable = partial(_comparable, network=reply.handle.network)
    wanted = comparable(reply.text)
    parent = reply.in_reply_to_remote_id or None
    at = progress if progress is not None else SearchProgress()
    window = at.window()
    skew = timedelta(0)
    if window is not None:
        # X filters start_time/end_time by its own clock: a desk a few minutes off would
        # otherwise ask for a window its post is not in.
        skew = _x_clock_skew(connector)
        window = (window[0] + skew, window[1] + skew)
        if at.pages == 0 and window[1] < timezone.now() + skew - END_TIME_LAG:
            # Found late (a backlog held up the sweep), the window may lie thousands of posts
            # back: X starts the pages there.
            at.end_time = window[1]
    facts = network_facts(reply.handle.network)
    found = partial(
        NetworkSearch,
        since_parent=bool(parent),
        window=window,
        skew=skew,
        network_label=facts.label,
        timeline_endpoint=facts.timeline_endpoint,
    )
    while at.pages < settings.RECONCILE_MAX_PAGES:
        page = connector.user_posts(
            reply.handle.remote_id,
            since_id=parent,
            pagination_token=at.token,
            start_time=window[0] if window else None,
            end_time=at.end_time,
        )
        at.pages += 1
        at.posts += len(page.posts)
        for remote in page.posts:
            same_parent = (remote.in_reply_to_id or "") == reply.in_reply_to_remote_id
            if same_parent and comparable(remote.text) == wanted:
                return found(remote, at.pages, at.posts, complete=True)
            if remote.created_at is not None:
                at.oldest_at = remote.created_at
        at.token = page.next_token
        if not at.token:
            return found(None, at.pages, at.posts, complete=True)
    return found(None, at.pages, at.posts, complete=False, oldest_at=at.oldest_at)


def _x_clock_skew(connector: Connector) -> timedelta:
    """X's clock minus ours, as measured by the latest answer X gave this process; measured
    with GET /2/users/me when there is none (a worker that starts by reconciling)."""
    skew = connector.clock_skew()
    if skew is None:
        connector.me()
        skew = connector.clock_skew()
    return skew or timedelta(0)


_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:@\S+\s+)+")


def _comparable(text: str, *, network: str = "x") -> str:
    """`text` as the network's copy is compared with ours: without links (X rewrites them as
    t.co), and on Mastodon without the leading mentions (an instance shows a remote account's
    "@user@domain" as "@user")."""
    text = " ".join(_URL.sub("", text).split())
    if network_facts(network).reply_mentions_author:
        text = _LEADING_MENTIONS.sub("", text)
    return text


def _reply_record_sent(
    reply: Reply,
    attempt: DeliveryAttempt,
    remote: RemotePost | None,
    outcome: str,
    *,
    dm_event_id: str = "",
) -> Reply:
    """Record a send that happened: our post (none for a DM), the reply `sent`, the ticket's
    first response, the timeline link, a note when the handle was not the policy's choice,
    and a status update's follow-ups. A DM's event names its handle and X's event id: the
    read of DMs (channels.dms) takes the requester's answers after it onto the ticket."""
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
        if reply.kind == Reply.Kind.STATUS_UPDATE and reply.follow_up_open_reports and post:
            from .status import status_update_follow_up  # status builds on this module

            transaction.on_commit(lambda: status_update_follow_up(reply_id=reply.pk))
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


def _reply_retry_later(
    reply: Reply,
    attempt: DeliveryAttempt,
    outcome: str,
    detail: str,
    *,
    not_before: datetime | None = None,
) -> Reply:
    """Nothing reached the network: put the reply back in the queue, later."""
    if (
        outcome == DeliveryAttempt.Outcome.UNREACHABLE
        and reply.attempts >= MAX_UNREACHABLE_ATTEMPTS
    ):
        return _reply_park(
            reply,
            attempt,
            outcome,
            f"{_on(reply)} unreachable after {reply.attempts} tries: {detail}",
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
