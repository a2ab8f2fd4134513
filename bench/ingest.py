"""Ingest workers, one per process (Django settings are fixed per process), each on a fresh
database: a real poll over HTTP, the storing part alone, and the raw INSERT baseline.

The poll keeps the parsed pages in a pickle, so the other two store exactly the same posts."""

from __future__ import annotations

import pickle
from pathlib import Path
from time import perf_counter
from typing import Any

from harness import django_start, say

from mentiondesk.channels.connectors.base import PostPage
from mentiondesk.channels.connectors.x import XConnector


class TimedConnector(XConnector):
    """An XConnector that keeps every mentions page it returns and the time spent getting them
    (HTTP, JSON decoding and parse_page)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pages: list[PostPage] = []
        self.fetch_s = 0.0

    def mentions(self, user_id: str, **kwargs: Any) -> PostPage:
        started = perf_counter()
        page = super().mentions(user_id, **kwargs)
        self.fetch_s += perf_counter() - started
        self.pages.append(page)
        return page

    def posts_lookup(self, ids: list[str]) -> PostPage:
        started = perf_counter()
        page = super().posts_lookup(ids)
        self.fetch_s += perf_counter() - started
        return page


def _handles(remote_ids: dict[str, str]) -> list[Any]:
    from corpus import HANDLES

    from mentiondesk.channels.models import Handle

    return [
        Handle.objects.create(username=name, role=role, remote_id=remote_ids[name])
        for name, role in HANDLES
    ]


def _counts() -> dict[str, int]:
    from mentiondesk.channels.models import Post
    from mentiondesk.tickets.models import Ticket, TicketEvent

    return {
        "posts": Post.objects.count(),
        "tickets": Ticket.objects.count(),
        "events": TicketEvent.objects.count(),
    }


def poll(*, sandbox: dict[str, Any], pages_file: str) -> dict[str, Any]:
    """`handle_poll` for each handle against the running sandbox, timed as one pass."""
    django_start()
    from mentiondesk.intake.ingest import handle_poll

    handles = _handles({name: h["id"] for name, h in sandbox["handles"].items()})
    connectors = {
        h.username: TimedConnector(
            base_url=sandbox["url"], token=sandbox["handles"][h.username]["token"]
        )
        for h in handles
    }
    say("polling")
    started = perf_counter()
    results = [handle_poll(handle=h, connector=connectors[h.username]) for h in handles]
    seconds = perf_counter() - started
    for connector in connectors.values():
        connector.close()
    errors = [r.error for r in results if r.error]
    assert not errors, errors
    pages = {h.username: connectors[h.username].pages for h in handles}
    Path(pages_file).write_bytes(pickle.dumps((sandbox["handles"], pages)))
    return {
        "seconds": seconds,
        "fetch_s": sum(c.fetch_s for c in connectors.values()),
        "pages": sum(len(p) for p in pages.values()),
        "stored": sum(r.stored for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "follow_ups": sum(r.follow_ups for r in results),
        **_counts(),
    }


def _load(pages_file: str) -> tuple[list[Any], dict[str, list[PostPage]]]:
    sandbox_handles, pages = pickle.loads(Path(pages_file).read_bytes())  # noqa: S301 (ours)
    return _handles({name: h["id"] for name, h in sandbox_handles.items()}), pages


def store(*, pages_file: str) -> dict[str, Any]:
    """The same pages, already parsed, straight into the write path, kept in batches as
    `handle_poll` keeps them (`intake.store.PageBatches`)."""
    django_start()
    from mentiondesk.intake.store import IngestResult, PageBatches, PageIn

    handles, pages = _load(pages_file)
    stored = 0
    started = perf_counter()
    for handle in handles:
        result = IngestResult(handle=handle.username)
        batches = PageBatches(handle=handle, result=result)
        newest = pages[handle.username][0].newest_id
        for n, page in enumerate(pages[handle.username], start=1):
            batches.add(
                PageIn(
                    posts=page.posts,
                    context=list(page.included.values()),
                    problems=page.problems,
                    checkpoint=newest if n == len(pages[handle.username]) else None,
                )
            )
        batches.flush()
        stored += result.stored
    return {"seconds": perf_counter() - started, "stored": stored, **_counts()}


def raw(*, pages_file: str, copy: bool = False) -> dict[str, Any]:
    """The floor: each page's new posts as one `executemany` INSERT into the posts table (every
    column) plus one into tickets (a row per post), a transaction per page like the poll's,
    through Django's connection. Values are prepared by the model fields beforehand; the timing
    covers only the INSERTs and commits. `copy` (PostgreSQL): COPY FROM STDIN instead of the
    INSERTs, PostgreSQL's fastest way in."""
    django_start()
    from django.db import connection, transaction
    from django.utils import timezone

    from mentiondesk.channels.models import Post
    from mentiondesk.tickets.models import Ticket

    handles, pages = _load(pages_file)
    now = timezone.now()
    post_fields = [f for f in Post._meta.concrete_fields if not f.primary_key]
    ticket_fields = list(Ticket._meta.concrete_fields)
    batches: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
    seen: set[str] = set()
    for handle in handles:
        for page in pages[handle.username]:
            tickets, posts = [], []
            for remote in page.posts:
                if remote.remote_id in seen:
                    continue
                seen.add(remote.remote_id)
                ticket = Ticket(
                    id=len(seen),
                    handle=handle,
                    conversation_id=remote.remote_id,  # a row each: no follow-up merging
                    requester_remote_id=remote.author_id,
                    requester_username=remote.author_username,
                    subject=remote.text[:140],
                    created_at=remote.created_at,
                    last_inbound_at=remote.created_at,
                    updated_at=now,
                )
                post = Post(
                    remote_id=remote.remote_id,
                    handle=handle,
                    ticket_id=ticket.id,
                    direction=Post.Direction.INBOUND,
                    author_remote_id=remote.author_id,
                    author_username=remote.author_username,
                    text=remote.text,
                    created_at=remote.created_at,
                    conversation_id=remote.conversation_id,
                    in_reply_to_remote_id=remote.in_reply_to_id or "",
                    mentions=list(remote.mentions),
                    urls=list(remote.urls),
                    raw=remote.raw,
                    stored_at=now,
                )
                tickets.append(_db_values(ticket, ticket_fields, connection))
                posts.append(_db_values(post, post_fields, connection))
            batches.append((tickets, posts))
    ticket_sql = _statement(Ticket, ticket_fields, connection, copy=copy)
    post_sql = _statement(Post, post_fields, connection, copy=copy)
    started = perf_counter()
    for tickets, posts in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, values in ((ticket_sql, tickets), (post_sql, posts)):
                if copy:
                    with cursor.copy(sql) as rows:
                        for row in values:
                            rows.write_row(row)
                else:
                    cursor.executemany(sql, values)
    return {"seconds": perf_counter() - started, "stored": len(seen), **_counts()}


def _db_values(obj: Any, fields: list[Any], connection: Any) -> tuple[Any, ...]:
    return tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)


def _statement(model: Any, fields: list[Any], connection: Any, *, copy: bool) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    if copy:
        return f"COPY {table} ({columns}) FROM STDIN"
    marks = ", ".join(["%s"] * len(fields))
    # Names from our own models, values as parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
