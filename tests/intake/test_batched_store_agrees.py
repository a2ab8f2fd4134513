"""The batched write path (`intake.store.mentions_store_pages`) writes row for row, ids
included, what the page-by-page path it replaced wrote (tests/intake/legacy_store.py, kept
only here): every ticket, post, ticket event and ingest problem, and the handles' checkpoints.

The same pages go both ways, in the same shuffled order: once a page per call through the old
path, once in batches of any number of pages through the new one. Conversations are real ones
(an academictwitteR full-archive page of replies to news accounts, two of them taken as our
handles) and the ticket-rule shapes of test_ticket_rule_agrees.py (our reply as the parent of
the customer's next post, answers from another client and from the wrong handle, third parties
joining, backlogs read newest first, tickets solved in between), with Hypothesis drawing more.
Each comparison runs twice inside transactions rolled back afterwards, at one frozen moment,
on the suite's database (run the file on SQLite and on PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.connectors.base import PayloadProblem
from mentiondesk.channels.connectors.x import parse_page
from mentiondesk.channels.models import Handle
from mentiondesk.intake import store
from mentiondesk.intake.store import PageIn
from mentiondesk.tickets.models import Ticket
from tests.channels.test_x_contract import archive_page
from tests.intake import legacy_store
from tests.intake.test_ticket_rule_agrees import (
    BRAND,
    BRAND_ID,
    PEOPLE,
    SHAPES,
    Shape,
    items,
    parent_of,
    shapes,
    to_brand,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# A second handle of ours, for answers from the wrong one (the handbook's note).
HELP, HELP_ID = "DriftwoodHelp", "900000000000000002"
USERS = [{"id": BRAND_ID, "username": BRAND}, {"id": HELP_ID, "username": HELP}] + [
    {"id": i, "username": name} for name, i in PEOPLE.items()
]

# Tables the write path writes, with their columns holding ids of rows written in the run.
TABLES = {
    "tickets_ticket": {"id": "tickets_ticket"},
    "channels_post": {"id": "channels_post", "ticket_id": "tickets_ticket"},
    "tickets_ticketevent": {
        "id": "tickets_ticketevent",
        "ticket_id": "tickets_ticket",
        "actor_id": "accounts_user",
    },
    "channels_ingestproblem": {"id": "channels_ingestproblem"},
}


Dump = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Read:
    """One page as a poll hands it over: the polling handle and what it stores."""

    handle: str
    page: PageIn


# --- Both ways ------------------------------------------------------------------------------


def id_bases() -> dict[str, int]:
    """The id before the next row of each table: ids are compared as offsets from it (a
    rolled-back run leaves PostgreSQL's sequences moved on)."""
    bases = {}
    with connection.cursor() as cursor:
        for table in [*TABLES, "accounts_user"]:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
                bases[table] = cursor.fetchone()[0]
            else:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                bases[table] = (row[0] if row else 0) + 1
    return bases


def dump(bases: dict[str, int]) -> Dump:
    """Every row of the tables written, ids as offsets; and the handles."""
    out: Dump = {}
    with connection.cursor() as cursor:
        for table, id_columns in TABLES.items():
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (our names)
            names = [c[0] for c in cursor.description]
            out[table] = [
                {
                    name: value - bases[id_columns[name]]
                    if name in id_columns and value is not None
                    else value
                    for name, value in zip(names, row, strict=True)
                }
                for row in cursor.fetchall()
            ]
        cursor.execute("SELECT * FROM channels_handle ORDER BY id")
        names = [c[0] for c in cursor.description]
        out["channels_handle"] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return out


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


def legacy(handles: dict[str, Handle], reads: Sequence[Read], _: random.Random) -> None:
    for read in reads:
        page = read.page
        legacy_store.mentions_store(
            handle=handles[read.handle],
            posts=page.posts,
            context=page.context,
            problems=page.problems,
            checkpoint=page.checkpoint,
            own_checkpoint=page.own_checkpoint,
            resume=page.resume,
            own_resume=page.own_resume,
        )


def batched(handles: dict[str, Handle], reads: Sequence[Read], rnd: random.Random) -> None:
    """Consecutive pages of one handle in batches of random sizes, as `handle_poll` keeps
    them (a batch never mixes handles: each poll is one handle's)."""
    start = 0
    while start < len(reads):
        end = start + 1
        while end < len(reads) and reads[end].handle == reads[start].handle and rnd.random() < 0.6:
            end += 1
        store.mentions_store_pages(
            handle=handles[reads[start].handle], pages=[r.page for r in reads[start:end]]
        )
        start = end


Store = Callable[[dict[str, Handle], Sequence[Read], random.Random], None]


def stored(
    handles: dict[str, Handle], reads: Sequence[Read], way: Store, *, seed: int, before: Any
) -> Dump:
    with undone(), time_machine.travel(NOW, tick=False):
        for handle in handles.values():
            handle.refresh_from_db()
        # From before what runs first: its rows are compared too.
        bases = id_bases()
        before(handles)
        way(handles, reads, random.Random(seed))
        return dump(bases)


def assert_both_ways_agree(
    handles: dict[str, Handle], reads: Sequence[Read], *, seed: int = 0, before: Any = None
) -> Dump:
    def nothing(_: dict[str, Handle]) -> None:
        pass

    old = stored(handles, reads, legacy, seed=seed, before=before or nothing)
    new = stored(handles, reads, batched, seed=seed, before=before or nothing)
    for table in old:
        assert new[table] == old[table], table
    return new


# --- Real conversations: an academictwitteR archive page ------------------------------------

ARCHIVE = ("hk3", "1405589018948026377")
# The accounts of the page taken as our handles: the most mentioned, one also the author of
# replies (our answers, from the X app), each a handle that opens tickets.
OURS = (("kerokero_HKer", Handle.Role.MAIN), ("appledaily_hk", Handle.Role.STATUS))


def archive_reads(rnd: random.Random, *, sizes: Sequence[int]) -> list[Read]:
    """Each handle's mentions newest first, then its own posts, cut into pages of the given
    sizes (in turn), each with the parents its posts answer; pages of both handles shuffled
    together, as polls of the two handles interleave."""
    body = archive_page(*ARCHIVE)
    users = body["includes"]["users"]
    ids = {u["username"]: u["id"] for u in users}
    every = {t["id"]: t for t in [*body["includes"].get("tweets", []), *body["data"]]}
    reads: list[Read] = []
    for name, _ in OURS:
        mentions = [
            t
            for t in body["data"]
            if t["author_id"] != ids[name]
            and name in {m["username"] for m in (t.get("entities") or {}).get("mentions", [])}
        ]
        own = [t for t in body["data"] if t["author_id"] == ids[name]]
        for read, own_read in ((mentions, False), (own, True)):
            newest_first = sorted(read, key=lambda t: int(t["id"]), reverse=True)
            start, n = 0, 0
            while start < len(newest_first):
                size = sizes[n % len(sizes)]
                chunk = newest_first[start : start + size]
                start, n = start + size, n + 1
                last = start >= len(newest_first)
                parents = [every[p] for p in {parent_id(t) for t in chunk} if p in every]
                page = parse_page({"data": chunk, "includes": {"users": users, "tweets": parents}})
                newest = newest_first[0]["id"]
                resume = ("", "") if last else (newest, f"token-{n}")
                reads.append(
                    Read(
                        name,
                        PageIn(
                            posts=page.posts,
                            context=list(page.included.values()),
                            problems=[PayloadProblem(reason="recorded", raw={"n": n})]
                            if n == 2
                            else [],
                            checkpoint=newest if last and not own_read else None,
                            own_checkpoint=newest if last and own_read else None,
                            resume=None if own_read else resume,
                            own_resume=resume if own_read else None,
                        ),
                    )
                )
    rnd.shuffle(reads)
    return reads


def parent_id(tweet: dict[str, Any]) -> str:
    refs = tweet.get("referenced_tweets") or []
    replied = [r["id"] for r in refs if isinstance(r, dict) and r.get("type") == "replied_to"]
    return replied[0] if replied else ""


def archive_handles() -> dict[str, Handle]:
    users = archive_page(*ARCHIVE)["includes"]["users"]
    ids = {u["username"]: u["id"] for u in users}
    return {
        name: Handle.objects.create(username=name, remote_id=ids[name], role=role)
        for name, role in OURS
    }


@pytest.mark.parametrize(("seed", "sizes"), [(1, (100,)), (2, (7, 1, 30)), (3, (1,))])
def test_real_conversations_are_stored_the_same_way(seed: int, sizes: tuple[int, ...]) -> None:
    handles = archive_handles()
    reads = archive_reads(random.Random(seed), sizes=sizes)

    new = assert_both_ways_agree(handles, reads, seed=seed)

    # The comparison compared something: every kind of row the rule writes is there.
    posts, tickets, events = new["channels_post"], new["tickets_ticket"], new["tickets_ticketevent"]
    assert len(posts) > 300 and len(tickets) > 100, (len(posts), len(tickets))
    kinds = {row["kind"] for row in events}
    assert {"created", "wrong_handle"} <= kinds, kinds
    assert new["channels_ingestproblem"]


def test_real_conversations_stored_again_change_nothing_more() -> None:
    """A second pass over the same pages (a poll read twice, a webhook's poll after the
    periodic one) agrees too, on top of the first."""
    handles = archive_handles()
    reads = archive_reads(random.Random(4), sizes=(25,))

    def first_pass(handles: dict[str, Handle]) -> None:
        legacy(handles, reads, random.Random(0))

    assert_both_ways_agree(handles, list(reversed(reads)), seed=4, before=first_pass)


# --- The ticket rule's shapes -----------------------------------------------------------------


def shape_reads(shape: Shape, posts: list[dict[str, Any]], rnd: random.Random) -> list[Read]:
    """What a poll of each of our handles hands over for `posts`: mentions of the brand newest
    first, then each handle's own timeline, page by page, each page with the parents it
    answers (climbing through ours, as `ingest._parents`); the pages shuffled."""
    by_id = {p["id"]: p for p in posts}
    mentions = [p for p in posts if p["author_id"] not in (BRAND_ID, HELP_ID) and to_brand(p)]
    reads: list[Read] = []
    for name, read in (
        (BRAND, mentions),
        (BRAND, [p for p in posts if p["author_id"] == BRAND_ID]),
        (HELP, [p for p in posts if p["author_id"] == HELP_ID]),
    ):
        newest_first = sorted(read, key=lambda p: int(p["id"]), reverse=True)
        for start in range(0, len(newest_first), shape.page):
            page = newest_first[start : start + shape.page]
            context: dict[str, dict[str, Any]] = {}
            for post in page:
                above = parent_of(post, by_id)
                for _ in range(3):
                    if above is None:
                        break
                    context[above["id"]] = above
                    if above["author_id"] not in (BRAND_ID, HELP_ID):
                        break
                    above = parent_of(above, by_id)
            parsed = parse_page({"data": page, "includes": {"users": USERS}}).posts
            parents = parse_page({"data": list(context.values()), "includes": {"users": USERS}})
            reads.append(Read(name, PageIn(posts=parsed, context=parents.posts)))
    rnd.shuffle(reads)
    return reads


def with_help(posts: list[dict[str, Any]], helped: Sequence[bool]) -> list[dict[str, Any]]:
    """Some of our posts written from the second handle instead (another client of ours)."""
    out = []
    for n, post in enumerate(posts):
        if post["author_id"] == BRAND_ID and helped[n % len(helped)]:
            post = {**post, "author_id": HELP_ID}
        out.append(post)
    return out


def shape_agrees(shape: Shape, *, seed: int, helped: Sequence[bool]) -> None:
    handles = {
        BRAND: Handle.objects.create(
            username=BRAND, remote_id=BRAND_ID, auto_ticket=shape.auto_ticket
        ),
        HELP: Handle.objects.create(
            username=HELP, remote_id=HELP_ID, role=Handle.Role.STATUS, auto_ticket=False
        ),
    }
    posts = with_help(items(shape), helped)
    reads = shape_reads(shape, posts, random.Random(seed))
    if not shape.solved_before:
        assert_both_ways_agree(handles, reads, seed=seed)
        return
    earlier = shape_reads(shape, posts[: shape.solved_before], random.Random(seed))

    def solved_first(handles: dict[str, Handle]) -> None:
        legacy(handles, earlier, random.Random(0))
        lead = User.objects.create_user(username="lead", role=User.Role.LEAD)
        for ticket in Ticket.objects.all():
            ticket_actions.ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=lead)

    assert_both_ways_agree(handles, reads, seed=seed, before=solved_first)


@pytest.mark.parametrize("name", SHAPES)
@pytest.mark.parametrize("helped", [(False,), (False, True)])
def test_the_rule_shapes_are_stored_the_same_way(name: str, helped: tuple[bool, ...]) -> None:
    shape_agrees(SHAPES[name], seed=len(name), helped=helped)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(shape=shapes(), seed=st.integers(0, 2**16), helped=st.lists(st.booleans(), min_size=1))
def test_random_threads_are_stored_the_same_way(
    shape: Shape, seed: int, helped: list[bool]
) -> None:
    note(f"shape = {shape!r}, seed = {seed}, helped = {helped}")
    with undone():
        shape_agrees(shape, seed=seed, helped=helped)
