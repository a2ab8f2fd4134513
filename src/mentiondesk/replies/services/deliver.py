"""Delivery: a reply stored in the outbox (create.py, status.py, direct.py) is sent by a
worker, at most once. What a send learnt is recorded by outcome.py; a send whose outcome is
unknown is reconciled by reconcile.py.

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

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mentiondesk.channels import services as channel_services
from mentiondesk.channels.connectors import SendKey, network_facts
from mentiondesk.channels.connectors.base import (
    Connector,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Unreachable,
)
from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core.errors import DomainError
from mentiondesk.costs.services import UsageMeter
from mentiondesk.tickets import selectors as ticket_selectors

from .. import selectors
from ..models import DeliveryAttempt, Reply
from .outcome import network_name, reply_park, reply_record_sent
from .reconcile import SearchProgress, reply_reconcile

MAX_UNREACHABLE_ATTEMPTS = 8


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
        return reply_park(
            reply=reply,
            attempt=attempt,
            outcome=DeliveryAttempt.Outcome.NOT_SENT,
            reason="Not sent: the worker stopped (killed, or its database connection lost) "
            f"before the request left for {network_name(reply)}, so nothing reached "
            f"{network_name(reply)}. A lead can send it again.",
        )
    if collided is not None:
        return reply_park(
            reply=reply,
            attempt=attempt,
            outcome=DeliveryAttempt.Outcome.STOPPED,
            reason=f"Not sent: @{collided.author_username} replied “{collided.text[:80]}” "
            "after this reply was queued. Read it, then send again if still needed.",
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
        return reply_reconcile(
            reply=reply,
            attempt=attempt,
            connector=x,
            why="the previous send's outcome was never recorded",
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
            return reply_record_sent(
                reply=reply,
                attempt=attempt,
                remote=None,
                outcome=DeliveryAttempt.Outcome.SENT,
                dm_event_id=sent["dm_event_id"],
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
        return reply_reconcile(
            reply=reply, attempt=attempt, connector=x, why=exc.detail, windowed=windowed
        )
    except ConnectorError as exc:  # Rejected, or an answer we cannot read: X said no
        return reply_park(
            reply=reply,
            attempt=attempt,
            outcome=DeliveryAttempt.Outcome.REJECTED,
            reason=f"{network_name(reply)} refused: {exc}",
        )
    return reply_record_sent(
        reply=reply, attempt=attempt, remote=remote, outcome=DeliveryAttempt.Outcome.SENT
    )


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
    """Whether the reply was queued again while a send of it may have reached the network (an
    unknown outcome, on networks whose sends carry a key: `_reply_send`); elsewhere such a
    reply waits for a person. Later tries refused before anything left (rate limited,
    unreachable) do not settle it: the post may be there, and read back by a poll meanwhile."""
    return network_facts(reply.handle.network).sends_keyed and selectors.reply_may_have_left(
        reply=reply
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
        return reply_park(
            reply=reply,
            attempt=attempt,
            outcome=outcome,
            reason=f"{network_name(reply)} unreachable after {reply.attempts} tries: {detail}",
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
