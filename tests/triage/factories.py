"""Stored posts for triage tests, as ingest would leave them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from mentiondesk.channels.models import Post
from mentiondesk.triage.models import TriageResult

_ids = itertools.count(1_900_000_000_000_000_000)
BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def post_make(text: str, *, direction: str = Post.Direction.INBOUND) -> Post:
    remote_id = str(next(_ids))
    return Post.objects.create(
        remote_id=remote_id,
        direction=direction,
        author_remote_id="42",
        author_username="requester" if direction == Post.Direction.INBOUND else "Driftwood",
        text=text,
        created_at=BASE_TIME + timedelta(seconds=int(remote_id) % 1000),
        conversation_id=remote_id,
    )


def triage_result_make(
    post: Post,
    *,
    intent: str,
    confidence: float,
    source: str = "model",
    model_version: str = "intent-test1+sentiment-test1",
) -> TriageResult:
    """What triage would have stored for `post`, with the confidence a test needs: stored
    before `posts_enrich` runs, it is the result enrich keeps (triage is idempotent)."""
    return TriageResult.objects.create(
        post=post,
        intent=intent,
        intent_confidence=confidence,
        sentiment="negative",
        context="unknown",
        evidence=["test"] if source == "model" else [f"rule: {intent}-rule (keyword)"],
        model_version=model_version,
        source=source,
    )
