"""Builders for posts as a network would report them, and tickets made through real ingest."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Handle
from mentiondesk.intake import ingest as channel_services
from mentiondesk.tickets.models import Ticket

_ids = itertools.count(1_800_000_000_000_000_000)
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def remote_post(
    *,
    author: str = "requester",
    author_id: str | None = None,
    text: str = "@Driftwood the site is down for me",
    conversation_id: str | None = None,
    in_reply_to_id: str | None = None,
    minutes: float = 0,
    mentions: tuple[str, ...] | None = None,
    remote_id: str | None = None,
) -> RemotePost:
    """A post as the connector returns it. Mentions default to the @names in the text."""
    rid = remote_id or str(next(_ids))
    return RemotePost(
        remote_id=rid,
        author_id=author_id or str(abs(hash(author)) % 10**12 + 10**12),
        author_username=author,
        text=text,
        created_at=BASE_TIME + timedelta(minutes=minutes),
        conversation_id=conversation_id or rid,
        in_reply_to_id=in_reply_to_id,
        mentions=mentions
        if mentions is not None
        else tuple(w[1:].rstrip(".,!?:") for w in text.split() if w.startswith("@")),
        raw={"id": rid, "text": text},
    )


def tickets_from(handle: Handle, *posts: RemotePost) -> list[Ticket]:
    """Store `posts` through the real ingest service and return the tickets they opened."""
    result = channel_services.mentions_store(handle=handle, posts=posts)
    return list(Ticket.objects.filter(pk__in=result.ticket_ids).order_by("created_at", "id"))
