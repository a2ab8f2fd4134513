"""X webhooks (Account Activity / v2 webhooks): the CRC challenge, signed event POSTs, and the
poll each event triggers. Facts: ../shared/fixtures/x-api-v2/API-FACTS.md, section 1.

Events carry v1.1-shaped tweets without conversation ids, so they are not parsed into posts.
An event for one of our handles makes the worker poll that handle at once: the poll reads the
full v2 objects, threads them, and its since_id checkpoint and unique remote ids make webhook
and periodic polling one idempotent path (no gap after downtime, no duplicates). Event polls
are paced per handle (a few in a row, then one per `WEBHOOK_POLL_MIN_SECONDS`); events that
find the pace spent share one poll when it allows the next."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from mentiondesk.channels.models import Handle
from mentiondesk.core import priorities
from mentiondesk.core.errors import DomainError, Forbidden, NotFound
from mentiondesk.intake import ingest as channel_services
from mentiondesk.webhooks.models import WebhookEvent, WebhookPoll

logger = logging.getLogger(__name__)

# Events that can carry a mention or a reply of ours; the rest (likes, follows, typing, ...)
# are kept and ignored.
POST_EVENTS = {"tweet_create_events", "tweet_delete_events"}


def _secret() -> bytes:
    if not settings.X_CONSUMER_SECRET:
        raise NotFound("X webhooks are off: set MENTIONDESK_X_CONSUMER_SECRET")
    return settings.X_CONSUMER_SECRET.encode()


def _sign(message: bytes) -> str:
    digest = hmac.new(_secret(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def webhook_crc_response(*, crc_token: str) -> dict[str, str]:
    """The answer to X's challenge: no database work, so it is fast even under load."""
    if not crc_token:
        raise DomainError("crc_token is missing", field="crc_token")
    return {"response_token": _sign(crc_token.encode())}


@dataclass(frozen=True)
class WebhookReceipt:
    """What a signed POST came to: the event kept for it, and whether that body had been
    received before (a replay, answered like the first delivery and doing nothing more)."""

    event: WebhookEvent
    is_replay: bool


def _is_plain(value: str) -> bool:
    # Keys and ids X sends are ASCII; NUL or a lone surrogate would be refused by PostgreSQL.
    return value.isascii() and value.isprintable()


def webhook_event_receive(*, body: bytes, signature: str | None) -> WebhookReceipt:
    """Check the signature over the raw bytes (constant time), keep the event, and have the
    worker poll the handle it is about. Unsigned or wrongly signed bodies are refused and not
    kept (anyone can POST). A signed body that is not usable is kept with the reason.

    Events are deduplicated by the SHA-256 of the body: a replay of a body already kept (by
    X's redelivery or by anyone who captured it) returns the first event, stores nothing and
    enqueues nothing. The digest is unique in the database, so two processes receiving the
    same body at once keep it once. Enqueues `webhook_events_process_task` after commit."""
    expected = _sign(body)
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Forbidden("the x-twitter-webhooks-signature header is missing or wrong")
    digest = hashlib.sha256(body).hexdigest()
    known = WebhookEvent.objects.filter(digest=digest).first()
    if known is not None:
        return WebhookReceipt(event=known, is_replay=True)
    event = WebhookEvent(raw=body, digest=digest)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    # Deeply nested JSON exhausts the decoder's recursion limit: as unreadable as bad syntax.
    except (ValueError, RecursionError) as exc:
        event.status, event.reason = WebhookEvent.Status.FAILED, f"unreadable body: {exc}"
        return _keep(event)
    for_user_id = payload.get("for_user_id", "")
    if isinstance(for_user_id, int | str) and _is_plain(str(for_user_id)):
        event.for_user_id = str(for_user_id)[:40]
    else:
        event.status, event.reason = WebhookEvent.Status.FAILED, "for_user_id is not a user id"
        return _keep(event)
    event.kinds = sorted(k for k in payload if k.endswith("_events") and _is_plain(k))
    if not POST_EVENTS & set(event.kinds):
        event.status, event.reason = WebhookEvent.Status.IGNORED, "no post events"
    elif not Handle.objects.filter(remote_id=event.for_user_id, is_active=True).exists():
        event.status = WebhookEvent.Status.IGNORED
        event.reason = f"no active handle has user id {event.for_user_id!r}"
    return _keep(event)


def _keep(event: WebhookEvent) -> WebhookReceipt:
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        # Another process kept the same body between our look-up and our insert.
        return WebhookReceipt(event=WebhookEvent.objects.get(digest=event.digest), is_replay=True)
    if event.status == WebhookEvent.Status.FAILED:
        logger.warning("webhook event #%s kept unread: %s", event.pk, event.reason)
    if event.status == WebhookEvent.Status.RECEIVED:
        transaction.on_commit(webhook_events_process_task.enqueue)
    return WebhookReceipt(event=event, is_replay=False)


def webhook_poll_claim(*, handle: Handle) -> bool:
    """Whether events may make the worker poll `handle` now: one poll per
    `WEBHOOK_POLL_MIN_SECONDS` on average, up to `WEBHOOK_POLL_BURST` in a row after a quiet
    spell, across every worker (the handle's `WebhookPoll` row, moved by a conditional UPDATE,
    decides the race). A quiet desk's mentions are each polled at once; a flood is paced.
    True records now as the last webhook poll. The periodic poll is not counted and not
    limited."""
    now = timezone.now()
    every = timedelta(seconds=settings.WEBHOOK_POLL_MIN_SECONDS)
    row, created = WebhookPoll.objects.get_or_create(
        handle=handle, defaults={"polled_at": now, "paced_until": now + every}
    )
    if created:
        return True
    if _poll_allowed_at(row) > now:
        return False
    paced_until = max(row.paced_until or now, now) + every
    # Another worker that moved the row since we read it claimed a poll after our events
    # came: that poll reads their mentions.
    return (
        WebhookPoll.objects.filter(pk=row.pk, paced_until=row.paced_until).update(
            polled_at=now, paced_until=paced_until
        )
        == 1
    )


def _poll_allowed_at(row: WebhookPoll) -> datetime:
    """When the pace lets the next event poll of `row`'s handle start."""
    if row.paced_until is None:  # kept before the pace: its last poll's window
        return row.polled_at + timedelta(seconds=settings.WEBHOOK_POLL_MIN_SECONDS)
    ahead = (settings.WEBHOOK_POLL_BURST - 1) * settings.WEBHOOK_POLL_MIN_SECONDS
    return row.paced_until - timedelta(seconds=ahead)


def webhook_events_process() -> int:
    """Poll once for every handle with received events, however many arrived: a burst of
    events costs one poll per handle, not one per event, and a handle polled because of events
    less than `WEBHOOK_POLL_MIN_SECONDS` ago is not polled again (its events are marked
    processed with the reason; the next poll reads their posts from the checkpoint, so nothing
    is lost). Returns how many events it took."""
    with transaction.atomic():
        claimed = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookEvent.Status.RECEIVED)
            .order_by("received_at")[:1000]
        )
        WebhookEvent.objects.filter(pk__in=[e.pk for e in claimed]).update(
            status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now()
        )
    user_ids = {e.for_user_id for e in claimed}
    for handle in Handle.objects.filter(remote_id__in=user_ids, is_active=True).order_by("pk"):
        events = WebhookEvent.objects.filter(
            pk__in=[e.pk for e in claimed if e.for_user_id == handle.remote_id]
        )
        if not webhook_poll_claim(handle=handle):
            events.update(reason=_poll_later(handle=handle))
            continue
        result = channel_services.handle_poll(handle=handle)
        if result.error:
            # Nothing is lost: the periodic poll reads from the same checkpoint later.
            events.update(status=WebhookEvent.Status.FAILED, reason=f"poll failed: {result.error}")
    return len(claimed)


def _poll_later(*, handle: Handle) -> str:
    """Events that found the handle's pace of event polls spent: with a task backend that can
    wait (the worker's database backend), one poll of the handle is queued for when the pace
    allows it, so their mentions are stored seconds after they were posted instead of at the
    next periodic poll (bench/arrival.py). One such poll is pending per handle: under a flood
    each run of `webhook_events_process` takes about one event, and a task per run would queue
    tens of thousands of polls that find nothing to do. The reason to record on the events."""
    pace = (
        f"the pace of event polls is spent (one per {settings.WEBHOOK_POLL_MIN_SECONDS:g} s, "
        f"{settings.WEBHOOK_POLL_BURST} in a row)"
    )
    if not webhook_handle_poll_task.get_backend().supports_defer:
        return f"not polled: {pace}; the next poll reads it"
    row = WebhookPoll.objects.get(handle=handle)
    due = _poll_allowed_at(row)
    # The conditional UPDATE decides the race between workers: only its winner queues the poll.
    # Pending polls are due no later than `due` (the pace only moves when a poll is claimed, and
    # one claimed after a pending poll's due time leaves that poll's mark in the past).
    none_pending = Q(deferred_until__isnull=True) | Q(deferred_until__lte=timezone.now())
    if WebhookPoll.objects.filter(none_pending, pk=row.pk).update(deferred_until=due) == 1:
        webhook_handle_poll_task.using(run_after=due).enqueue(handle_id=handle.pk)
    else:
        due = WebhookPoll.objects.values_list("deferred_until", flat=True).get(pk=row.pk) or due
    return f"polled later: {pace}; its poll waits until {due.isoformat()}"


def webhook_handle_poll(*, handle_id: int) -> bool:
    """The poll `_poll_later` queued for when the handle's pace allows it. When another event's
    poll took that turn first, it started after these events came and read their mentions:
    nothing is left to do. Returns whether it polled.

    Clears the handle's pending mark first, so events that come while it polls queue the next
    one; a mark still ahead belongs to a poll queued after this one and is left alone."""
    WebhookPoll.objects.filter(handle_id=handle_id, deferred_until__lte=timezone.now()).update(
        deferred_until=None
    )
    handle = Handle.objects.filter(pk=handle_id, is_active=True).first()
    if handle is None or not webhook_poll_claim(handle=handle):
        return False
    result = channel_services.handle_poll(handle=handle)
    if result.error:
        # Nothing is lost: the periodic poll reads from the same checkpoint later.
        logger.warning("webhook poll of handle #%s failed: %s", handle_id, result.error)
    return True


# Beside the services they run: the receipt above enqueues the first, `_poll_later` the second.
@task(queue_name="ingest", priority=priorities.INGEST)
def webhook_events_process_task() -> None:
    webhook_events_process()


@task(queue_name="ingest", priority=priorities.INGEST)
def webhook_handle_poll_task(*, handle_id: int) -> None:
    webhook_handle_poll(handle_id=handle_id)
