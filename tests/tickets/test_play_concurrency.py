"""Many agents pressing Play at the same moment on PostgreSQL: no ticket is handed out twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections, transaction

from mentiondesk.accounts import services as account_services
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket
from tests.factories import remote_post, tickets_from

AGENTS = 16
TICKETS = 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_play_never_hands_out_a_ticket_twice() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (set MENTIONDESK_DATABASE_URL); SQLite serialises writers")
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    tickets_from(handle, *(remote_post(author=f"user{i}", minutes=i) for i in range(TICKETS)))
    agents = [
        account_services.user_create(username=f"agent{i}", role="advocate") for i in range(AGENTS)
    ]
    handed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(AGENTS)

    def play(agent_index: int) -> None:
        try:
            start.wait()
            agent = agents[agent_index]
            while (ticket := services.ticket_next(user=agent)) is not None:
                with lock:
                    handed.append(ticket.pk)
                # Strict play: the next ticket comes only once this one is dealt with.
                ticket_actions.ticket_status_set(ticket=ticket, status="solved", by=agent)
        except BaseException as exc:  # reported below; a thread must not swallow failures
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=play, args=(i,)) for i in range(AGENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    duplicates = [pk for pk, n in Counter(handed).items() if n > 1]
    assert duplicates == []
    assert len(handed) == TICKETS
    assert not Ticket.objects.filter(assignee__isnull=True).exists()
    assert Ticket.objects.filter(status=Ticket.Status.SOLVED).count() == TICKETS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_play_waits_for_a_ticket_a_background_job_has_locked() -> None:
    """Triage labels new tickets in a transaction that locks their rows. An agent pressing Play
    meanwhile must get the ticket once the job commits, not hear that the queue is empty."""
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (set MENTIONDESK_DATABASE_URL); SQLite serialises writers")
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    (ticket,) = tickets_from(handle, remote_post(author="rosa"))
    agent = account_services.user_create(username="ana", role="advocate")
    locked, release = threading.Event(), threading.Event()

    def labelling_job() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().filter(pk=ticket.pk).update(intent="other")
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    job = threading.Thread(target=labelling_job)
    job.start()
    assert locked.wait(timeout=10)
    threading.Timer(0.5, release.set).start()
    played = services.ticket_next(user=agent)
    job.join(timeout=10)
    assert played is not None and played.pk == ticket.pk
    assert played.assignee == agent
