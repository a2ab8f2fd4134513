"""The Slack outbox: messages are stored first, then posted by a worker.

Delivery (`slack_message_deliver`):
1. Claim: lock the row; only a queued message whose `next_attempt_at` has come is taken. Count
   the attempt and push `next_attempt_at` past the request's timeout (a lease), so no other
   worker takes it meanwhile. Commit: no lock is held while Slack is being called, so a slow
   Slack never holds up the database, and so never an agent.
2. Post with chat.postMessage, outside any transaction.
3. Posted: mark `sent` with Slack's ts at once, then ask chat.getPermalink for the link (a
   failure there is noted, never a reason to post again). Slack struggling (unreachable,
   timeout, HTTP 5xx, rate limited): back to the queue with exponential backoff, or Slack's
   Retry-After, and `failed` after SLACK_MAX_ATTEMPTS. Slack refused (bad token, unknown
   channel…): `failed` at once with Slack's reason, since no retry can fix it.

chat.postMessage has no idempotency key: a timeout or dropped connection after Slack accepted
the message, or a worker dying between steps 2 and 3, leads to a second post on retry. For
internal notifications a rare duplicate is acceptable, and far better than a lost escalation;
what is never retried is a message already marked `sent`.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from mentiondesk.accounts.models import User
from mentiondesk.core.errors import DomainError
from mentiondesk.tickets.models import Ticket

from .client import SlackSendError, message_post, permalink_get, slack_web_client
from .models import SlackMessage

logger = logging.getLogger(__name__)

# Slack truncates `text` beyond 40,000 characters and accepts at most 50 blocks.
# https://docs.slack.dev/reference/methods/chat.postMessage
MAX_TEXT_CHARS = 40_000
MAX_BLOCKS = 50
# A channel name (lowercase letters, digits, `-`, `_`, up to 80 characters) or an id (C…, G…).
_CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
# Margin on top of the two requests' timeouts before a claimed message counts as abandoned.
LEASE_MARGIN_SECONDS = 30


class SlackUnavailable(DomainError):
    """Slack is not configured on this desk, so the action is unavailable (not broken)."""

    status_code = 503
    code = "slack_unavailable"


def slack_is_configured() -> bool:
    """Whether Slack is enabled with a bot token. Callers hide or disable Slack actions when
    it is not."""
    return bool(settings.SLACK_ENABLED and settings.SLACK_BOT_TOKEN.strip())


def slack_retry_delay(*, attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: base * 2^(attempts-1), capped."""
    base = settings.SLACK_RETRY_BASE_SECONDS
    seconds = min(settings.SLACK_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds)


@transaction.atomic
def slack_message_enqueue(
    *,
    channel: str,
    text: str,
    purpose: str,
    ticket: Ticket | None = None,
    by: User | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> SlackMessage:
    """Store a message for `channel` (a name, with or without "#", or a channel id) and enqueue
    its delivery after commit. Returns at once: Slack is only called from a worker.

    Raises SlackUnavailable when Slack is not configured, DomainError for an empty or too long
    text, a malformed channel, an unknown purpose or malformed blocks."""
    if not slack_is_configured():
        raise SlackUnavailable(
            "Slack is not configured on this desk, so nothing was posted. An admin can enable "
            "it with MENTIONDESK_SLACK_ENABLED=1 and MENTIONDESK_SLACK_BOT_TOKEN."
        )
    channel = channel.strip().removeprefix("#")
    if not _CHANNEL.match(channel):
        raise DomainError(
            f"{channel!r} is not a Slack channel name or id (like abuse or C4UGNMF9A)",
            field="channel",
        )
    text = text.strip()
    if not text:
        raise DomainError("the Slack message is empty", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise DomainError(
            f"the Slack message is {len(text)} characters; Slack allows {MAX_TEXT_CHARS}",
            field="text",
        )
    if purpose not in SlackMessage.Purpose.values:
        choices = ", ".join(SlackMessage.Purpose.values)
        raise DomainError(f"purpose must be one of {choices}", field="purpose")
    blocks = blocks or []
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise DomainError("blocks must be a list of Block Kit objects", field="blocks")
    if len(blocks) > MAX_BLOCKS:
        raise DomainError(f"Slack allows at most {MAX_BLOCKS} blocks", field="blocks")
    message = SlackMessage.objects.create(
        channel=channel,
        purpose=purpose,
        text=text,
        blocks=blocks,
        ticket=ticket,
        requested_by=by,
    )
    transaction.on_commit(lambda: _enqueue_delivery(message.pk))
    return message


def _enqueue_delivery(message_id: int) -> None:
    slack_message_deliver_task.enqueue(message_id=message_id)


# Beside the service it runs, so enqueueing it needs no import of tasks.py (which imports
# this module).
@task(queue_name="default")
def slack_message_deliver_task(*, message_id: int) -> None:
    slack_message_deliver(message_id=message_id)


def slack_message_deliver(*, message_id: int) -> SlackMessage | None:
    """Post message `message_id` if it is queued and due, following the module docstring.

    Safe to call any number of times from any number of workers: only the worker that claims
    the message posts it, and a `sent` or `failed` message is left alone. Returns the message
    as it is afterwards (None if it no longer exists). Never raises for Slack's failures: they
    end up in `last_error`."""
    message = _slack_message_claim(message_id=message_id)
    if message is None:
        return SlackMessage.objects.filter(pk=message_id).first()
    if not slack_is_configured():
        return _slack_message_failed_try(
            message,
            SlackSendError(
                "not_configured",
                "Slack is not configured on this desk (MENTIONDESK_SLACK_ENABLED, "
                "MENTIONDESK_SLACK_BOT_TOKEN)",
                retryable=True,
            ),
        )
    client = slack_web_client()
    try:
        posted = message_post(
            client, channel=message.channel, text=message.text, blocks=message.blocks or None
        )
    except SlackSendError as exc:
        return _slack_message_failed_try(message, exc)
    now = timezone.now()
    # Sent is recorded before anything else can go wrong, so that nothing posts it again.
    SlackMessage.objects.filter(pk=message.pk).update(
        status=SlackMessage.Status.SENT,
        slack_ts=posted.ts,
        slack_channel_id=posted.channel_id,
        sent_at=now,
        next_attempt_at=None,
        last_error="",
    )
    try:
        permalink = permalink_get(client, channel_id=posted.channel_id, ts=posted.ts)
    except SlackSendError as exc:
        logger.warning("slack message %s posted; no permalink: %s", message.pk, exc.detail)
        SlackMessage.objects.filter(pk=message.pk).update(
            last_error=f"Posted, but Slack gave no link to it: {exc.detail}"
        )
    else:
        SlackMessage.objects.filter(pk=message.pk).update(permalink=permalink)
    message.refresh_from_db()
    return message


def _slack_message_claim(*, message_id: int) -> SlackMessage | None:
    now = timezone.now()
    lease = timedelta(seconds=2 * settings.SLACK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    with transaction.atomic():
        message = SlackMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != SlackMessage.Status.QUEUED:
            return None
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return None  # not due yet, or another worker is posting it right now
        message.attempts += 1
        message.next_attempt_at = now + lease
        message.save(update_fields=["attempts", "next_attempt_at"])
    return message


def _slack_message_failed_try(message: SlackMessage, exc: SlackSendError) -> SlackMessage:
    """Record a try that did not post: queued again for later, or failed with the reason."""
    now = timezone.now()
    if not exc.retryable:
        status, next_at, reason = SlackMessage.Status.FAILED, None, exc.detail
    elif message.attempts >= settings.SLACK_MAX_ATTEMPTS:
        status, next_at = SlackMessage.Status.FAILED, None
        reason = f"Gave up after {message.attempts} attempts: {exc.detail}"
    else:
        status, reason = SlackMessage.Status.QUEUED, exc.detail
        delay = slack_retry_delay(attempts=message.attempts)
        if exc.retry_after is not None:
            # Slack says when to come back; never sooner than that.
            delay = timedelta(seconds=max(exc.retry_after, 1.0))
        next_at = now + delay
    SlackMessage.objects.filter(pk=message.pk, status=SlackMessage.Status.QUEUED).update(
        status=status, next_attempt_at=next_at, last_error=reason
    )
    if status == SlackMessage.Status.FAILED:
        logger.warning("slack message %s to #%s failed: %s", message.pk, message.channel, reason)
    else:
        logger.info("slack message %s: retry at %s (%s)", message.pk, next_at, reason)
    message.refresh_from_db()
    return message


def slack_messages_due(*, limit: int = 100) -> list[int]:
    """Ids of queued messages whose next attempt has come (including abandoned claims)."""
    now = timezone.now()
    return list(
        SlackMessage.objects.filter(status=SlackMessage.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def slack_outbox_drain() -> int:
    """Try every due message once; returns how many were tried."""
    due = slack_messages_due()
    for message_id in due:
        slack_message_deliver(message_id=message_id)
    return len(due)
