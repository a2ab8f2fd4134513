"""Ingest and the history import follow one ticket rule (`intake/rule.py`): the same posts,
stored once through `mentions_store` page by page as the poll reads them and once through
`history_import` of a file holding them, give the same tickets (requester, handle, status,
start, first response) and put every post on the same ticket.

Shapes are the ones real threads have; Hypothesis adds random threads of them. Each shape runs
on an empty desk, inside a transaction rolled back afterwards, on the suite's database (run the
file on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.connectors.x import parse_page
from mentiondesk.channels.models import Handle, Post
from mentiondesk.intake import ingest
from mentiondesk.intake.imports import services as import_services
from mentiondesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

BRAND, BRAND_ID = "Driftwood", "900000000000000001"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PEOPLE = {"ana": "1001", "bo": "1002", "cy": "1003", "dee": "1004"}


@dataclass(frozen=True)
class Spec:
    """One post: its author (BRAND for ours), the post it replies to (an index, None: it starts
    a conversation), whether it names @Driftwood itself, and minutes after START."""

    author: str
    parent: int | None = None
    names_brand: bool = True
    minutes: int = 0


@dataclass
class Shape:
    specs: list[Spec]
    page: int = 100  # posts per page of the poll's reads (1: a backlog read post by post)
    solved_before: int = 0  # the first N posts are stored and their tickets solved first
    auto_ticket: bool = True
    ids: list[str] = field(default_factory=list)


def items(shape: Shape) -> list[dict[str, Any]]:
    """The posts as X API v2 has them: a reply names whom it answers (X adds the mention)."""
    out: list[dict[str, Any]] = []
    for n, spec in enumerate(shape.specs):
        rid = str(1_900_000_000_000_000_000 + n * 1000)
        author_id = BRAND_ID if spec.author == BRAND else PEOPLE[spec.author]
        parent = out[spec.parent] if spec.parent is not None else None
        names = []
        if parent is not None and parent["author_id"] != author_id:
            names.append(username(parent["author_id"]))
        if spec.names_brand and spec.author != BRAND and BRAND not in names:
            names.append(BRAND)
        item: dict[str, Any] = {
            "id": rid,
            "text": " ".join([*(f"@{u}" for u in names), f"post {n} by {spec.author}"]),
            "author_id": author_id,
            "created_at": (START + timedelta(minutes=spec.minutes))
            .isoformat()
            .replace("+00:00", "Z"),
            "conversation_id": parent["conversation_id"] if parent else rid,
            "entities": {"mentions": [{"username": u} for u in names]},
        }
        if parent is not None:
            item["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            item["in_reply_to_user_id"] = parent["author_id"]
        out.append(item)
    return out


def username(author_id: str) -> str:
    return BRAND if author_id == BRAND_ID else {v: k for k, v in PEOPLE.items()}[author_id]


USERS = [{"id": BRAND_ID, "username": BRAND}] + [
    {"id": i, "username": name} for name, i in PEOPLE.items()
]


def poll(
    handle: Handle, posts: list[dict[str, Any]], *, size: int, upto: int | None = None
) -> list[dict[str, Any]]:
    """What a poll stores of `posts[:upto]`: mentions of the brand newest first, page by page,
    each page with the parents it answers (climbing through ours, as `ingest._parents`); then
    our own timeline, newest first. Posts that name neither the brand nor answer it are seen
    only as parents, and those that are neither are never seen. Returns what it stored."""
    chosen = posts[:upto] if upto is not None else posts
    by_id = {p["id"]: p for p in chosen}
    mentions = [p for p in chosen if p["author_id"] != BRAND_ID and to_brand(p)]
    ours = [p for p in chosen if p["author_id"] == BRAND_ID]
    stored: dict[str, dict[str, Any]] = {}
    for read in (mentions, ours):
        newest_first = sorted(read, key=lambda p: int(p["id"]), reverse=True)
        for start in range(0, len(newest_first), size):
            page = newest_first[start : start + size]
            context: dict[str, dict[str, Any]] = {}
            for post in page:
                above = parent_of(post, by_id)
                for _ in range(ingest.PARENT_LEVELS):
                    if above is None:
                        break
                    context[above["id"]] = above
                    if above["author_id"] != BRAND_ID:
                        break
                    above = parent_of(above, by_id)
            parsed = parse_page({"data": page, "includes": {"users": USERS}}).posts
            parents = parse_page(
                {"data": list(context.values()), "includes": {"users": USERS}}
            ).posts
            ingest.mentions_store(handle=handle, posts=parsed, context=parents)
            stored.update((p["id"], p) for p in [*page, *context.values()])
    return sorted(stored.values(), key=lambda p: int(p["id"]))


def to_brand(post: dict[str, Any]) -> bool:
    return BRAND in {m["username"] for m in post["entities"]["mentions"]}


def parent_of(post: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    refs = post.get("referenced_tweets") or []
    return by_id.get(refs[0]["id"]) if refs else None


def import_file(handle: Handle, posts: list[dict[str, Any]], path: Path) -> None:
    # Replies before the posts they answer, as the public CSV lists them.
    path.write_text(json.dumps({"data": posts[::-1], "includes": {"users": USERS}}))
    import_services.history_import(path=path, handle=handle, open_since=START - timedelta(days=1))


def desk_state() -> tuple[dict[Any, Any], dict[str, Any]]:
    """Tickets by (conversation, requester), and each post's ticket by the same key."""
    tickets = {
        (t.conversation_id, t.requester_username): (
            t.status,
            t.handle.username,
            t.created_at,
            t.first_response_at,
            t.last_inbound_at,
            t.solved_at is not None,
        )
        for t in Ticket.objects.select_related("handle")
    }
    posts = {
        p.remote_id: (
            p.direction,
            (p.ticket.conversation_id, p.ticket.requester_username) if p.ticket else None,
        )
        for p in Post.objects.select_related("ticket")
    }
    return tickets, posts


class _Undo(Exception):
    pass


@contextmanager
def undone() -> Iterator[None]:
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def both_ways(shape: Shape, tmp_path: Path) -> None:
    posts = items(shape)
    with undone():
        handle = Handle.objects.create(
            username=BRAND, remote_id=BRAND_ID, auto_ticket=shape.auto_ticket
        )
        if shape.solved_before:
            poll(handle, posts, size=shape.page, upto=shape.solved_before)
            lead = User.objects.create_user(username="lead", role=User.Role.LEAD)
            for ticket in Ticket.objects.all():
                ticket_actions.ticket_status_set(
                    ticket=ticket, status=Ticket.Status.SOLVED, by=lead
                )
        with undone():
            seen = poll(handle, posts, size=shape.page)
            polled = desk_state()
        # The same posts: what the poll saw, no more (a reply between customers that names
        # nobody of ours reaches the desk only in a file).
        import_file(handle, seen, tmp_path / "history.json")
        imported = desk_state()
    assert imported[1] == polled[1]
    assert imported[0] == polled[0]


# Named shapes: what each one is, then its posts.
SHAPES = {
    "a customer mentions us, we answer from another client (the X app)": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5)],
    ),
    "a customer mentions us, nobody answers": Shape([Spec("ana")]),
    "the customer answers our reply": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5), Spec("ana", 1, names_brand=False, minutes=9)],
    ),
    "we answer twice, our second reply answers our first": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5), Spec(BRAND, 1, minutes=6)],
    ),
    "a third party joins, writing to the customer only": Shape(
        [
            Spec("ana"),
            Spec(BRAND, 0, minutes=5),
            Spec("bo", 0, names_brand=False, minutes=7),
            Spec("ana", 2, names_brand=True, minutes=8),
        ],
    ),
    "a third party joins, writing to us": Shape(
        [Spec("ana"), Spec("bo", 0, minutes=3), Spec(BRAND, 1, minutes=5)],
    ),
    "a customer's post we did not see, answered by another customer's mention": Shape(
        [Spec("ana", names_brand=False), Spec("bo", 0, minutes=3), Spec(BRAND, 1, minutes=5)],
    ),
    "our announcement, a customer replies to it": Shape(
        [Spec(BRAND), Spec("ana", 0, names_brand=False, minutes=30), Spec(BRAND, 1, minutes=40)],
    ),
    "a backlog read post by post, newest first": Shape(
        [
            Spec("ana"),
            Spec(BRAND, 0, minutes=5),
            Spec("ana", 1, names_brand=False, minutes=9),
            Spec("bo", 2, minutes=10),
            Spec(BRAND, 3, minutes=12),
            Spec("ana", 4, minutes=20),
        ],
        page=1,
    ),
    "a follow-up after the ticket was solved reopens it": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5), Spec("ana", 1, names_brand=False, minutes=60)],
        solved_before=2,
    ),
    "a follow-up answered after a solve": Shape(
        [
            Spec("ana"),
            Spec(BRAND, 0, minutes=5),
            Spec("ana", 1, minutes=60),
            Spec(BRAND, 2, minutes=65),
        ],
        solved_before=2,
    ),
    "our reply after a solve, nothing new from the customer": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5), Spec(BRAND, 1, minutes=60)],
        solved_before=1,
    ),
    "a backlog read newest first after a solve: the follow-up first comes as a parent": Shape(
        [
            Spec("ana"),
            Spec(BRAND, 0, minutes=5),
            Spec("ana", 1, minutes=60),
            Spec("bo", 2, minutes=61),
            Spec(BRAND, 2, minutes=70),
        ],
        page=1,
        solved_before=2,
    ),
    "customers replying to our announcement, read newest first": Shape(
        [
            Spec(BRAND),
            Spec("ana", 0, names_brand=False, minutes=2),
            Spec("bo", 0, names_brand=False, minutes=3),
            Spec("ana", 0, names_brand=False, minutes=4),
        ],
        page=1,
    ),
    "a stream handle opens no tickets": Shape(
        [Spec("ana"), Spec(BRAND, 0, minutes=5), Spec("bo", minutes=7)],
        auto_ticket=False,
    ),
}


@pytest.mark.parametrize("name", SHAPES)
def test_poll_and_import_agree_on_the_shape(name: str, tmp_path: Path) -> None:
    both_ways(SHAPES[name], tmp_path)


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    """Random threads of the same kinds: customers writing to us and to each other, a third
    party joining, our replies to anyone (to our own reply too), read in pages of any size,
    sometimes after the first posts' tickets were solved, sometimes on a stream handle."""
    specs: list[Spec] = []
    minutes = 0
    for _ in range(draw(st.integers(1, 9))):
        author = draw(st.sampled_from((BRAND, *PEOPLE)))
        parent = draw(st.none() | st.integers(0, len(specs) - 1)) if specs else None
        if author == BRAND and parent is None and specs:
            parent = draw(st.integers(0, len(specs) - 1))  # ours answer someone
        minutes += draw(st.integers(1, 90))
        specs.append(Spec(author, parent, draw(st.booleans()), minutes))
    return Shape(
        specs,
        page=draw(st.sampled_from((1, 2, 100))),
        solved_before=draw(st.integers(0, len(specs))),
        auto_ticket=draw(st.booleans()) or draw(st.booleans()),
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shape=shapes())
def test_poll_and_import_agree_on_random_threads(shape: Shape, tmp_path: Path) -> None:
    note(f"shape = {shape!r}")  # the failing thread, in full, in the report
    both_ways(shape, tmp_path)
