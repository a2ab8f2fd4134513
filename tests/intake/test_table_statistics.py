"""Planner statistics after a burst of mentions, on PostgreSQL (`core.tablestats`): a fresh
desk's first backlog is planned on the counts of what it stored, not on empty tables, even when
autovacuum is late or off (it is off on the machines the suite runs on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from mentiondesk.channels.connectors.base import RemotePost
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core import tablestats
from mentiondesk.intake.store import STORED_TABLES, mentions_store

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Past the margin for an empty table; the tickets and events grow as much as the posts.
BURST = tablestats.MIN_CHANGED + 200

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's (set MENTIONDESK_DATABASE_URL)")
    yield


def mentions(handle: Handle, count: int, first: int = 0) -> list[RemotePost]:
    return [
        RemotePost(
            remote_id=str(10_000 + n),
            author_id=str(500 + n),
            author_username=f"user{n}",
            text=f"@{handle.username} the export is stuck ({n})",
            created_at=START + timedelta(seconds=n),
            conversation_id=str(10_000 + n),
            mentions=(handle.username,),
        )
        for n in range(first, first + count)
    ]


def analysed(table: str) -> float:
    """What the planner believes the table holds (-1: never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return float(cursor.fetchone()[0])


def flush_counts() -> None:
    """Make the backend report its table counters now (they are flushed when it goes idle, at
    most once a second); the next statement sees them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


def test_a_table_grown_past_the_margin_is_analysed_once() -> None:
    handle = Handle.objects.create(username="Driftwood", role=Handle.Role.MAIN, remote_id="1")
    posts = Post._meta.db_table
    Post.objects.bulk_create(
        Post(
            remote_id=p.remote_id,
            handle=handle,
            direction=Post.Direction.INBOUND,
            author_remote_id=p.author_id,
            author_username=p.author_username,
            text=p.text,
            created_at=p.created_at,
            conversation_id=p.conversation_id,
        )
        for p in mentions(handle, BURST)
    )
    flush_counts()

    assert tablestats.tables_analyze_stale(tables=[Post, Handle]) == [posts]
    assert analysed(posts) == BURST
    flush_counts()
    # Analysed now; a few more rows are well within the margin of 1,200.
    assert tablestats.tables_analyze_stale(tables=[Post, Handle]) == []


def test_a_burst_of_mentions_leaves_the_tables_analysed_after_the_next_batch() -> None:
    handle = Handle.objects.create(username="Driftwood", role=Handle.Role.MAIN, remote_id="1")
    assert analysed(Post._meta.db_table) == -1

    stored = mentions_store(handle=handle, posts=mentions(handle, BURST)).stored
    # The counters of the burst's transaction reach the statistics once the backend is idle
    # (a second at most); the next batch's commit then finds the tables stale.
    time.sleep(1.2)
    stored += mentions_store(handle=handle, posts=mentions(handle, 1, first=BURST)).stored

    assert stored == BURST + 1
    for model in STORED_TABLES:
        assert analysed(model._meta.db_table) >= BURST, model
