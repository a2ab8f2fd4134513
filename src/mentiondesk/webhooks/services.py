"""X webhooks (Account Activity / v2 webhooks): the CRC challenge, signed event POSTs, and the
poll each event triggers. Facts: ../shared/fixtures/x-api-v2/API-FACTS.md, section 1.

Events carry v1.1-shaped tweets without conversation ids, so they are not parsed into posts.
An event for one of our handles makes the worker poll that handle at once: the poll reads the
full v2 objects, threads them, and its since_id checkpoint and unique remote ids make webhook
and periodic polling one idempotent path (no gap after downtime, no duplicates)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mentiondesk.channels import services as channel_services
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError, Forbidden, NotFound

from .models import WebhookEvent

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


def _storable(text: str) -> str:
    """`text` with any unpaired surrogate (valid in JSON as "\\udc00", but without a UTF-8
    form, so no database stores it) written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode()


def webhook_crc_response(*, crc_token: str) -> dict[str, str]:
    """The answer to X's challenge: no database work, so it is fast even under load."""
    if not crc_token:
        raise DomainError("crc_token is missing", field="crc_token")
    return {"response_token": _sign(crc_token.encode())}


def webhook_event_receive(*, body: bytes, signature: str | None) -> WebhookEvent:
    """Check the signature over the raw bytes (constant time), keep the event, and have the
    worker poll the handle it is about. Unsigned or wrongly signed bodies are refused and not
    kept (anyone can POST). A signed body that is not usable is kept with the reason."""
    expected = _sign(body)
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Forbidden("the x-twitter-webhooks-signature header is missing or wrong")
    event = WebhookEvent(raw=body)
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("the body is not a JSON object")
    except ValueError as exc:
        event.status, event.reason = WebhookEvent.Status.FAILED, f"unreadable body: {exc}"
        event.save()
        logger.warning("webhook event #%s kept unread: %s", event.pk, event.reason)
        return event
    event.for_user_id = _storable(str(payload.get("for_user_id", "")))[:40]
    event.kinds = sorted(_storable(k) for k in payload if k.endswith("_events"))
    if not POST_EVENTS & set(event.kinds):
        event.status, event.reason = WebhookEvent.Status.IGNORED, "no post events"
    elif not Handle.objects.filter(remote_id=event.for_user_id, is_active=True).exists():
        event.status = WebhookEvent.Status.IGNORED
        event.reason = f"no active handle has user id {event.for_user_id!r}"
    event.save()
    if event.status == WebhookEvent.Status.RECEIVED:
        from . import tasks

        transaction.on_commit(tasks.webhook_events_process.enqueue)
    return event


def webhook_events_process() -> int:
    """Poll once for every handle with received events, however many arrived: a burst of
    events costs one poll per handle, not one per event. Returns how many events it took."""
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
        result = channel_services.handle_poll(handle=handle)
        if result.error:
            # Nothing is lost: the periodic poll reads from the same checkpoint later.
            WebhookEvent.objects.filter(
                pk__in=[e.pk for e in claimed if e.for_user_id == handle.remote_id]
            ).update(status=WebhookEvent.Status.FAILED, reason=f"poll failed: {result.error}")
    return len(claimed)
