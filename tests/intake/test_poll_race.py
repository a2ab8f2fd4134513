"""Two polls storing the same new conversation at once, on PostgreSQL (SQLite serialises
writers): polls of one handle store one after the other (the handle's row lock), and a poll
that loses the race to open a ticket (two handles named in one post, each polled by its own
worker) stops with an error instead of an exception, the next poll storing everything once.

The interleaving is made, not hoped for: a test-only trigger on the tickets table takes an
advisory lock the test holds, so a store that reached the INSERT of one requester's ticket
(its reads done) waits there until the test lets it go; `pg_locks` and `pg_stat_activity`
say who waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import LazySettings
from django.db import connection, connections

from mentiondesk.channels.models import Handle, Post
from mentiondesk.intake import ingest
from mentiondesk.intake.store import IngestResult
from mentiondesk.sandbox.x.server import SandboxServer
from mentiondesk.tickets.models import Ticket

HOLD = 4242  # the advisory lock key the trigger waits on
CONTESTED = "carol"  # the requester whose ticket inserts wait
WAIT_LIMIT = 60.0  # seconds; a wait that long means the interleaving never happened
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def held_inserts(desk: SandboxServer) -> Iterator[None]:
    """Every INSERT of a ticket of CONTESTED waits until the session holding advisory lock
    HOLD lets go (the holder's own inserts pass: the lock is re-entrant)."""
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (set MENTIONDESK_DATABASE_URL); SQLite serialises writers")
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION test_race_hold() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_advisory_lock({HOLD});
                PERFORM pg_advisory_unlock({HOLD});
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_race_hold BEFORE INSERT ON {table}
                FOR EACH ROW WHEN (NEW.requester_username = '{CONTESTED}')
                EXECUTE FUNCTION test_race_hold();
            """
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER test_race_hold ON {table}; DROP FUNCTION test_race_hold();")


def wait_for(sql: str, at_least: int, params: tuple[int, ...] = ()) -> None:
    """Until `sql` (a count) reaches `at_least`: the other sessions got where they wait."""
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            (count,) = cursor.fetchone()
        if count >= at_least:
            return
        assert time.monotonic() < deadline, f"never reached: {sql}"
        time.sleep(0.05)


def advisory_lock(take: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_{'lock' if take else 'unlock'}({HOLD})")


def in_thread(work: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


WAITING_ON_LOCKS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
"""
WAITING_ON_HOLD = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND objid = %s AND NOT granted
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_polls_of_one_handle_store_one_after_the_other(
    desk: SandboxServer, held_inserts: None
) -> None:
    desk.store.mention_add(CONTESTED, "@Driftwood the site is down")
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def poll() -> None:
        results.append(ingest.handle_poll(handle=Handle.objects.get(username="Driftwood")))

    advisory_lock(take=True)
    threads = [in_thread(poll, errors) for _ in range(2)]
    # One poll waits at its ticket INSERT (the trigger), the other at the handle's row lock;
    # without that lock both would wait at the INSERT, both having read no ticket.
    wait_for(WAITING_ON_LOCKS, at_least=2)
    advisory_lock(take=False)
    for thread in threads:
        thread.join(timeout=WAIT_LIMIT)

    assert not errors, errors
    assert [r.error for r in results] == ["", ""]
    assert sorted((r.stored, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    assert Ticket.objects.count() == 1 and Post.objects.count() == 1


def raced_by(other: Handle, work: Callable[[], object]) -> None:
    """Run `work` (a pass that stores the post `other` also reads) while `other`'s worker
    stores that post first: `work` waits at its ticket INSERT, having read no ticket for the
    conversation, until the rival committed its own."""
    errors: list[BaseException] = []
    locked = threading.Event()

    def rival() -> None:
        advisory_lock(take=True)
        try:
            locked.set()
            wait_for(WAITING_ON_HOLD, at_least=1, params=(HOLD,))
            result = ingest.handle_poll(handle=other)
            assert result.error == "" and result.tickets_created == 1, result
        finally:
            advisory_lock(take=False)

    thread = in_thread(rival, errors)
    assert locked.wait(timeout=WAIT_LIMIT)
    work()
    thread.join(timeout=WAIT_LIMIT)
    assert not errors, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_poll_that_loses_the_race_to_open_a_ticket_stops_and_the_next_stores_it_once(
    desk: SandboxServer, held_inserts: None
) -> None:
    desk.store.mention_add(CONTESTED, "@Driftwood @DriftwoodStatus the site is down")
    desk.store.mention_add("dave", "@MoveToDriftwood moving over today")
    first, other = Handle.objects.filter(auto_ticket=True).order_by("pk")[:2]
    results: list[IngestResult] = []

    raced_by(other, lambda: results.extend(ingest.mentions_poll_all()))

    by_handle = {r.handle: r for r in results}
    # Every handle was polled: the one that lost stopped with an error, the rest went on.
    assert list(by_handle) == ["Driftwood", "DriftwoodStatus", "MoveToDriftwood"]
    assert "another poll stored some of these posts" in by_handle[first.username].error
    assert by_handle[other.username].error == "" and by_handle[other.username].duplicates == 1
    assert by_handle["MoveToDriftwood"].error == "" and by_handle["MoveToDriftwood"].stored == 1
    first.refresh_from_db()
    assert first.since_id == ""  # the batch and its checkpoint were rolled back

    again = ingest.mentions_poll_all()

    assert [r.error for r in again] == ["", "", ""]
    assert Ticket.objects.count() == 1
    assert Post.objects.filter(text__startswith="@Driftwood @DriftwoodStatus").count() == 1
    first.refresh_from_db()
    assert first.since_id != ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_poll_that_loses_the_race_leaves_its_handle_as_stored(
    desk: SandboxServer, held_inserts: None, settings: LazySettings
) -> None:
    # Two pages of mentions in one batch, the contested post on the older one: the batch's
    # first page moves the read's place (`resume_*`) in memory before the second fails.
    desk.store.mention_add(
        CONTESTED, "@Driftwood @DriftwoodStatus the site is down", created_at=START
    )
    for n in range(100):
        desk.store.mention_add(
            f"user{n}", f"@Driftwood help {n}", created_at=START + timedelta(minutes=n + 1)
        )
    settings.INGEST_BATCH_POSTS = 1000
    settings.INGEST_BATCH_SECONDS = 3600.0
    first, other = Handle.objects.filter(auto_ticket=True).order_by("pk")[:2]
    results: list[IngestResult] = []

    raced_by(other, lambda: results.append(ingest.handle_poll(handle=first)))

    assert "another poll stored" in results[0].error
    assert Ticket.objects.count() == 1  # the rival's; the batch of 101 was rolled back
    # The caller's instance holds no place of the rolled-back batch: saved later (the
    # webhook's poll claim, the next pass), it would skip what was never stored.
    assert (first.since_id, first.resume_newest_id, first.resume_token) == ("", "", "")
