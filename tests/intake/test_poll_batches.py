"""A poll stores what it reads in batches of pages (intake.store.PageBatches): one transaction,
one enrichment task and one SLA refresh per batch, the checkpoint with the read's last batch;
a read cut short stores the pages it had kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import LazySettings
from django_tasks import default_task_backend

from mentiondesk.channels.models import Handle, Post
from mentiondesk.intake import ingest
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

HELD = {
    "default": {
        "BACKEND": "django_tasks.backends.dummy.DummyBackend",
        "QUEUES": ["default", "outbox", "ingest"],
    }
}
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def backlog(desk: SandboxServer, settings: LazySettings) -> Handle:
    """250 mentions waiting (three pages of X's 100), tasks held to be counted, and batches
    cut by size only (time never cuts one here)."""
    for n in range(250):
        desk.store.mention_add(
            f"user{n}", f"@Driftwood help {n}", created_at=START + timedelta(minutes=n)
        )
    settings.TASKS = HELD
    settings.INGEST_BATCH_SECONDS = 3600.0
    default_task_backend.clear()  # type: ignore[attr-defined]
    return Handle.objects.get(username="Driftwood")


def enqueued(name: str) -> list[dict[str, Any]]:
    return [r.kwargs for r in default_task_backend.results if r.task.name == name]  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_backlog_is_stored_in_batches_each_enriched_once(
    backlog: Handle,
    settings: LazySettings,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.INGEST_BATCH_POSTS = 120  # pages of 100: the first two, then the third

    with django_capture_on_commit_callbacks(execute=True):
        result = ingest.handle_poll(handle=backlog)

    assert result.error == "" and result.stored == 250
    assert Ticket.objects.count() == 250 and Post.objects.count() == 250
    enrich = enqueued("posts_enrich_task")
    assert [len(kwargs["remote_ids"]) for kwargs in enrich] == [200, 50]
    assert len(enqueued("tickets_sla_refresh_task")) == 2
    backlog.refresh_from_db()
    newest = Post.objects.order_by("-created_at").values_list("remote_id", flat=True)[0]
    assert (backlog.since_id, backlog.resume_token) == (newest, "")


@pytest.mark.django_db
def test_a_read_cut_short_stores_the_pages_it_kept(
    backlog: Handle, desk: SandboxServer, settings: LazySettings
) -> None:
    settings.INGEST_BATCH_POSTS = 1000  # the whole backlog would be one batch
    # Two mentions reads, then X says 429: the two pages kept are stored, and the next poll
    # goes on from the third.
    desk.store.window = 60.0
    desk.store.rate_limits["GET /2/users/:id/mentions"] = 2

    first = ingest.handle_poll(handle=backlog)

    assert "rate limited" in first.error or "Too Many Requests" in first.error
    assert first.stored == 200 and Post.objects.count() == 200
    backlog.refresh_from_db()
    assert backlog.resume_token and not backlog.since_id
