"""The queue page and Play walk the partial indexes made for them, and ingest seeks its
conversations, on SQLite too.

SQLite uses a partial index only when the query spells out the index's own condition, so
these queries name their statuses literally (`status__literal_in`, core/lookups.py); and the
view reaches its handles through a subquery, since with a join SQLite starts from the handle.
Without both, SQLite sorted every open ticket for each page view: 89 ms against a 0.8 ms floor
at 100,000 tickets (bench/RESULTS.md, "Side by side", run E)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets import services as ticket_services
from mentiondesk.tickets.models import QUEUE_STATUSES, Ticket
from tests.factories import BASE_TIME, remote_post, tickets_from

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL plans bound and literal IN alike"
)


@pytest.mark.django_db
def test_literal_in_writes_the_values_and_finds_the_same_rows(
    main_handle: Handle, lead: User
) -> None:
    tickets = tickets_from(main_handle, *(remote_post(author=f"u{i}", minutes=i) for i in range(3)))
    ticket_actions.ticket_status_set(ticket=tickets[0], status=Ticket.Status.PENDING, by=lead)

    literal = Ticket.objects.filter(status__literal_in=QUEUE_STATUSES)
    sql, params = literal.query.sql_with_params()
    assert "IN ('new', 'open')" in sql
    assert params == ()
    bound = Ticket.objects.filter(status__in=QUEUE_STATUSES)
    assert list(literal) == list(bound) == tickets[1:]


@pytest.mark.parametrize("values", [(), ("new", "x' OR 1=1 --"), ("New",), ("open", 'o"pen'), (1,)])
def test_literal_in_refuses_anything_but_plain_words(values: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="literal_in takes plain lower-case words"):
        Ticket.objects.filter(status__literal_in=values)


def _plan(qs: QuerySet[Any]) -> str:
    sql, params = qs.query.sql_with_params()
    return _explain(sql, params)


def _explain(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.fixture
def many_tickets(main_handle: Handle, advocate: User) -> None:
    """4,000 tickets of a desk with one handle, half of them open, with statistics: the shape
    in which SQLite once put the handle first and sorted every open ticket for each page."""
    Handle.objects.exclude(pk=main_handle.pk).delete()
    statuses = ["solved", "new", "solved", "open"]
    Ticket.objects.bulk_create(
        Ticket(
            handle=main_handle,
            conversation_id=str(i),
            requester_remote_id=str(i),
            requester_username=f"u{i}",
            status=statuses[i % len(statuses)],
            assignee=advocate if i % 16 == 3 else None,
            created_at=BASE_TIME + timedelta(seconds=i),
            last_inbound_at=BASE_TIME + timedelta(seconds=i),
        )
        for i in range(4000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@sqlite_only
@pytest.mark.django_db
@pytest.mark.usefixtures("many_tickets")
def test_queue_page_and_play_walk_their_partial_indexes(advocate: User) -> None:
    page = _plan(ticket_selectors.ticket_list(view="twitter")[:50])
    held, candidates = ticket_services._play_queues(view="twitter", user_id=advocate.pk)
    # Unassigned candidates walk either partial queue index that holds them in order.
    plans = {
        page: ("ticket_open_queue",),
        _plan(held[:1]): ("ticket_held",),
        _plan(candidates[:1]): ("ticket_unassigned_queue", "ticket_held"),
    }
    for plan, indexes in plans.items():
        assert any(re.search(rf"USING INDEX {index}\b", plan) for index in indexes), plan
        assert "TEMP B-TREE" not in plan, plan


@sqlite_only
@pytest.mark.django_db
@pytest.mark.usefixtures("many_tickets")
def test_ingest_seeks_its_conversations(main_handle: Handle) -> None:
    seen: list[tuple[str, Any]] = []

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if '"conversation_id" IN' in sql:
            seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        tickets_from(main_handle, remote_post(author="u7", conversation_id="7"))

    assert seen, "ingest did not look its conversations up"
    plan = _explain(*seen[0])
    # A seek by conversation (the partial unique index or the plain conversation one), never
    # a walk through every ticket.
    assert re.search(
        r"SEARCH tickets_ticket USING INDEX \S+ \(network=\? AND conversation_id=\?", plan
    ), plan


@sqlite_only
@pytest.mark.django_db
@pytest.mark.usefixtures("many_tickets")
def test_the_requester_card_seeks_the_requesters_tickets() -> None:
    theirs = Ticket.objects.filter(network="x", requester_remote_id="7")
    for qs in (theirs.exclude(pk=1).order_by("-created_at", "-id")[:5], theirs.values("pk")):
        plan = _plan(qs)
        assert re.search(r"USING (COVERING )?INDEX ticket_requester\b", plan), plan
