"""The one ticket rule, on the conversation shapes real threads have: poll and import agree.

A ticket is one requester in one conversation who wrote *to* the handle (mentioned it, or
replied to one of its posts); it starts at their first such post and is answered at our first
post after it that answers them (follows the thread up to them), however that post reached
the desk. The same conversations go through a live poll of the sandbox (mentions newest first,
our replies as parents in `includes`, our timeline) and through `mentiondesk import` of the
same posts shuffled; both must give the tickets and times the conversations say, to the
second."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from mentiondesk.channels.models import Handle, Post
from mentiondesk.intake import ingest
from mentiondesk.intake.imports import services as import_services
from mentiondesk.reports.selectors import report_build, report_filters
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

BRAND = "Driftwood"
PEOPLE = ("ana_c", "bo_c", "cy_c", "third_party")


@dataclass(frozen=True)
class Spec:
    """One post of a generated thread: who wrote it, which earlier post it answers (None:
    it starts a conversation), whether it names the brand, and seconds after the previous."""

    author: str
    parent: int | None
    names_brand: bool
    gap: int


@st.composite
def threads(draw: st.DrawFn, *, posts: tuple[int, int] = (1, 14)) -> list[Spec]:
    """Threads as they happen: customers writing to the brand and to each other, a third
    party joining without writing to us, the brand answering several people in one thread,
    answering its own reply, and replies to replies."""
    specs: list[Spec] = []
    for _ in range(draw(st.integers(*posts))):
        author = draw(st.sampled_from((BRAND, *PEOPLE)))
        parent = (
            draw(st.none() | st.integers(min_value=0, max_value=len(specs) - 1)) if specs else None
        )
        if author == BRAND and parent is None and specs:
            parent = draw(st.integers(min_value=0, max_value=len(specs) - 1))
        names_brand = author != BRAND and author != "third_party" and draw(st.booleans())
        specs.append(Spec(author, parent, names_brand, draw(st.integers(1, 5400))))
    return specs


def build(store: object, specs: list[Spec], start: datetime) -> list[dict[str, object]]:
    """Post the thread in the sandbox, oldest first; returns each post as X has it."""
    ids: list[str] = []
    authors: list[str] = []
    moment = start
    for spec in specs:
        moment += timedelta(seconds=spec.gap)
        parent = ids[spec.parent] if spec.parent is not None else None
        to = authors[spec.parent] if spec.parent is not None else None
        names = [f"@{to}"] if to and to != spec.author else []
        if spec.names_brand:
            names.append(f"@{BRAND}")
        text = " ".join([*names, f"post {len(ids)} by {spec.author}"])
        ids.append(
            store.mention_add(spec.author, text, in_reply_to=parent, created_at=moment)  # type: ignore[attr-defined]
        )
        authors.append(spec.author)
    return [store.post_get(i) for i in ids]  # type: ignore[attr-defined]


def expected(posts: list[dict[str, object]], brand_id: str) -> dict[tuple[str, str], tuple]:
    """What the conversations say: (conversation, requester) -> (start, first response)."""
    by_id = {p["id"]: p for p in posts}

    def at(post: dict[str, object]) -> datetime:
        return datetime.fromisoformat(str(post["created_at"]).replace("Z", "+00:00"))

    def parent(post: dict[str, object]) -> dict[str, object] | None:
        refs = post.get("referenced_tweets") or []
        return by_id.get(refs[0]["id"]) if refs else None  # type: ignore[index]

    starts: dict[tuple[str, str], datetime] = {}
    for post in posts:
        if post["author_id"] == brand_id:
            continue
        above = parent(post)
        mentions = {m["username"] for m in post.get("entities", {}).get("mentions", [])}  # type: ignore[union-attr]
        if BRAND in mentions or (above is not None and above["author_id"] == brand_id):
            key = (str(post["conversation_id"]), str(post["author_id"]))
            starts[key] = min(starts.get(key, at(post)), at(post))
    answers: dict[tuple[str, str], datetime | None] = dict.fromkeys(starts)
    for post in posts:
        if post["author_id"] != brand_id:
            continue
        above = parent(post)
        while above is not None and above["author_id"] == brand_id:
            above = parent(above)
        if above is None:
            continue
        key = (str(post["conversation_id"]), str(above["author_id"]))
        if key in starts and at(post) >= starts[key]:
            answers[key] = min(filter(None, (answers[key], at(post))))
    return {key: (starts[key], answers[key]) for key in starts}


def report() -> tuple:
    """What `mentiondesk report` says of them: volume and first-response times."""
    built = report_build(filters=report_filters())
    return built.by_day, built.first_response, built.first_response_distribution


def tickets() -> dict[tuple[str, str], tuple]:
    return {
        (t.conversation_id, t.requester_remote_id): (t.created_at, t.first_response_at)
        for t in Ticket.objects.all()
    }


class _Undo(Exception):
    pass


@contextmanager
def undone() -> Iterator[None]:
    """Whatever runs inside is rolled back afterwards."""
    try:
        with transaction.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


def import_file(posts: list[dict[str, object]], users: list[dict[str, str]], path: Path) -> None:
    shuffled = random.Random(len(posts)).sample(posts, len(posts))  # replies before parents
    path.write_text(json.dumps({"data": shuffled, "includes": {"users": users}}))
    handle = Handle.objects.get(username=BRAND)
    import_services.history_import(path=path, handle=handle)


@pytest.fixture
def brand(desk: SandboxServer) -> Handle:
    return Handle.objects.get(username=BRAND)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=threads())
def test_poll_and_import_give_the_tickets_and_times_the_conversations_say(
    desk: SandboxServer, brand: Handle, tmp_path: Path, specs: list[Spec]
) -> None:
    poll_and_import_agree(desk, brand, tmp_path, specs)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=threads(posts=(250, 320)))
def test_a_backlog_read_newest_first_over_many_pages_agrees_too(
    desk: SandboxServer, brand: Handle, tmp_path: Path, specs: list[Spec]
) -> None:
    """Hundreds of interleaved posts: the poll reads mentions and our timeline page after
    page, newest first, so a reply is often stored before what it answers."""
    poll_and_import_agree(desk, brand, tmp_path, specs)


def poll_and_import_agree(
    desk: SandboxServer, brand: Handle, tmp_path: Path, specs: list[Spec]
) -> None:
    note(f"specs = {specs!r}")  # the failing thread, in full, in the report
    store = desk.store
    store.reset()  # each example on an empty network and an empty desk
    store.user_add(BRAND, name=BRAND)
    os.environ["MENTIONDESK_X_TOKEN_DRIFTWOOD"] = store.token_for(BRAND)  # the desk fixture's
    with undone():
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        posts = build(store, specs, start)
        brand_id = store.user_by_username(BRAND)["id"]
        want = expected(posts, brand_id)
        Handle.objects.filter(pk=brand.pk).update(remote_id=brand_id)
        brand.refresh_from_db()

        with undone():
            result = ingest.handle_poll(handle=brand)
            assert result.error == ""
            polled, polled_report = tickets(), report()
        import_file(posts, store.users(), tmp_path / "history.json")
        imported, imported_report = tickets(), report()

    assert polled == want
    assert imported == want
    assert polled_report == imported_report


def test_our_reply_that_arrives_only_as_a_parent_stops_the_clock(
    desk: SandboxServer, brand: Handle
) -> None:
    """Our timeline cannot be read (rate limited): the reply reaches the desk only in
    `includes.tweets`, as the parent of the customer's next post, and still answers them."""
    store = desk.store
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    asked = store.mention_add("maya", "@Driftwood push fails", created_at=start)
    ours = store.mention_add(
        BRAND, "@maya which runner?", in_reply_to=asked, created_at=start + timedelta(minutes=11)
    )
    store.mention_add(
        "maya", "@Driftwood the shared one", in_reply_to=ours, created_at=start + timedelta(hours=1)
    )
    # Only the timeline fails: mentions are read first and include our reply as a parent.
    brand_id = store.user_by_username(BRAND)["id"]
    store.fault_add("GET", f"/2/users/{brand_id}/tweets", kind="status", status=429)

    ingest.handle_poll(handle=brand)

    ticket = Ticket.objects.get()
    assert ticket.first_response_at == start + timedelta(minutes=11)
    assert Post.objects.get(remote_id=ours).ticket == ticket
    # The customer wrote after our answer: the ticket waits in the queue, answered once.
    assert ticket.status == Ticket.Status.OPEN


def test_our_timeline_is_read_back_to_the_oldest_waiting_ticket_page_after_page(
    desk: SandboxServer, brand: Handle
) -> None:
    store = desk.store
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    asked = store.mention_add("omar", "@Driftwood where are my builds?", created_at=start)
    # We answer from the X app without naming anyone we watch, then post 250 more times.
    answer = store.mention_add(
        BRAND, "@omar looking now", in_reply_to=asked, created_at=start + timedelta(minutes=3)
    )
    for n in range(250):
        store.mention_add(
            BRAND, f"release note {n}", created_at=start + timedelta(hours=1, minutes=n)
        )

    ingest.handle_poll(handle=brand)

    ticket = Ticket.objects.get()
    assert ticket.first_response_at == start + timedelta(minutes=3)
    assert Post.objects.get(remote_id=answer).ticket == ticket
    timeline_reads = [r for r in store.request_log() if r.path.endswith("/tweets")]
    assert len(timeline_reads) == 3  # 251 posts, 100 a page
    brand.refresh_from_db()
    assert (brand.own_resume_token, brand.own_since_id) == (
        "",
        max((p["id"] for p in store.posts(BRAND)), key=lambda i: (len(i), i)),
    )


def test_a_timeline_read_cut_short_by_a_rate_limit_goes_on_where_it_stopped(
    desk: SandboxServer, brand: Handle
) -> None:
    store = desk.store
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    asked = store.mention_add("omar", "@Driftwood where are my builds?", created_at=start)
    store.mention_add(
        BRAND, "@omar looking now", in_reply_to=asked, created_at=start + timedelta(minutes=3)
    )
    for n in range(150):
        store.mention_add(
            BRAND, f"release note {n}", created_at=start + timedelta(hours=1, minutes=n)
        )
    brand_id = store.user_by_username(BRAND)["id"]

    # One timeline read a second: the pass reads the newest page, then X says 429.
    store.window = 1.0
    store.rate_limits["GET /2/users/:id/tweets"] = 1

    first = ingest.handle_poll(handle=brand)

    assert "429" in first.error or "rate" in first.error.lower()
    brand.refresh_from_db()
    assert brand.own_resume_token and not brand.own_since_id
    assert Ticket.objects.get().first_response_at is None
    time.sleep(2.1)  # past X's announced reset

    second = ingest.handle_poll(handle=brand)

    assert second.error == ""
    assert Ticket.objects.get().first_response_at == start + timedelta(minutes=3)
    timeline = [r for r in store.request_log() if r.path == f"/2/users/{brand_id}/tweets"]
    # Page 1, then (X's headers said the window was spent: no call) page 2 on the next pass;
    # starting over would have read page 1 again.
    assert len(timeline) == 2, "the second pass went on from the page it stopped at"
    brand.refresh_from_db()
    assert brand.own_resume_token == "" and brand.own_since_id
