"""Play mode under load: agents in separate processes (no shared GIL, one database connection
each, as web workers would have) pressing `ticket_next` on a queue of open, unassigned tickets.

Play is strict (an agent holding an open ticket gets that one again), so after each press the
agent solves its ticket with `ticket_status_set`, untimed: every timed press assigns a new
ticket. Every handed-out ticket is checked for double assignment, in the agents' answers and
in the database."""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from collections import Counter
from datetime import timedelta
from multiprocessing.synchronize import Barrier
from typing import Any

from harness import django_start, percentile, say

BATCH = 5_000


def _queue_fill(tickets: int) -> None:
    """`tickets` valid Ticket rows (new, unassigned, one handle), a minute apart, with their
    CREATED events, by bulk_create."""
    from django.db import connection
    from django.utils import timezone

    from mentiondesk.channels.models import Handle
    from mentiondesk.tickets.models import Ticket, TicketEvent

    handle = Handle.objects.create(username="Driftwood", remote_id="100", role="main")
    oldest = timezone.now() - timedelta(minutes=tickets)
    for first in range(0, tickets, BATCH):
        batch = [
            Ticket(
                handle=handle,
                conversation_id=str(10**18 + n),
                requester_remote_id=str(2 * 10**17 + n % 5_000),
                requester_username=f"user{n % 5_000}",
                subject=f"is the API down? #{n}",
                created_at=oldest + timedelta(minutes=n),
                last_inbound_at=oldest + timedelta(minutes=n),
            )
            for n in range(first, min(first + BATCH, tickets))
        ]
        Ticket.objects.bulk_create(batch)
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket=t, kind=TicketEvent.Kind.CREATED) for t in batch
        )
    if connection.vendor == "postgresql":
        # What autovacuum would have done after a bulk load: planner statistics.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _agent(user_id: int, calls: int, every: float, start: Barrier, results: Any) -> None:
    from django.db import connections

    from mentiondesk.accounts.models import User
    from mentiondesk.actions.tickets import ticket_status_set
    from mentiondesk.tickets.models import Ticket
    from mentiondesk.tickets.services import ticket_next

    def solve(ticket: Ticket | None) -> int | None:
        if ticket is None:
            return None
        ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=user)
        return ticket.pk

    user = User.objects.get(pk=user_id)
    handed = [solve(ticket_next(user=user))]  # opens the connection; not timed
    latencies: list[float] = []
    start.wait()
    # Paced agents start at a random phase so they do not press in step.
    began = time.perf_counter() + random.uniform(0, every)
    for n in range(calls):
        # Open loop: a press that starts late because the previous one was slow is timed
        # from when it was due, so queueing is not hidden (no coordinated omission).
        due = began + n * every
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        called = due if every else time.perf_counter()
        ticket = ticket_next(user=user)
        latencies.append(time.perf_counter() - called)
        handed.append(solve(ticket))
    ended = time.perf_counter()
    connections.close_all()
    results.put({"user": user_id, "latencies": latencies, "handed": handed, "span": (began, ended)})


def _round(agents: int, calls: int, every_ms: float) -> dict[str, Any]:
    """One round: `agents` new advocates, each in its own process, `calls` presses each, back
    to back (`every_ms` 0: a closed loop, the most load the machine takes) or one press every
    `every_ms` (an open loop at a set load)."""
    from django.db import connections
    from django.db.models import Count

    from mentiondesk.accounts.models import User
    from mentiondesk.tickets.models import Ticket, TicketEvent

    first = User.objects.count()
    users = [
        User.objects.create(username=f"agent{first + i}", role=User.Role.ADVOCATE)
        for i in range(agents)
    ]
    connections.close_all()  # the children must not share this process's connection
    context = mp.get_context("fork")
    start, results = context.Barrier(agents), context.Queue()
    processes = [
        context.Process(target=_agent, args=(u.pk, calls, every_ms / 1000, start, results))
        for u in users
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"an agent failed (exit {process.exitcode})"

    handed = [pk for a in answers for pk in a["handed"]]
    latencies = sorted(s for a in answers for s in a["latencies"])
    wall = max(a["span"][1] for a in answers) - min(a["span"][0] for a in answers)
    mine = Ticket.objects.filter(assignee__in=users)
    db_counts = dict(mine.values_list("assignee_id").annotate(n=Count("pk")))
    # Over every round so far: a ticket assigned twice has two ASSIGNED events.
    events = (
        TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED)
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    agent_counts = {a["user"]: sum(pk is not None for pk in a["handed"]) for a in answers}
    return {
        "agents": agents,
        "every_ms": every_ms,
        "calls": len(latencies),
        "empty": handed.count(None),
        "wall_s": wall,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p95_ms": 1000 * percentile(latencies, 95),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * latencies[-1],
        # Handed out more than once, to the same agent or another.
        "double_client": sum(n - 1 for pk, n in Counter(handed).items() if pk and n > 1),
        "double_db": events.count(),
        "db_matches_agents": db_counts == {k: v for k, v in agent_counts.items() if v},
    }


def play(*, tickets: int, rounds: list[list[float]]) -> dict[str, Any]:
    """Fill the queue, then each round of [agents, calls per agent, every_ms] in order."""
    django_start()
    from django.db import connection

    say(f"queue of {tickets:,} tickets on {connection.vendor}")
    started = time.perf_counter()
    _queue_fill(tickets)
    fill_s = time.perf_counter() - started
    out: dict[str, Any] = {"tickets": tickets, "fill_s": fill_s, "rounds": []}
    for agents, calls, every_ms in rounds:
        say(f"{agents} agents x {calls} calls" + (f", every {every_ms:g} ms" if every_ms else ""))
        out["rounds"].append(_round(int(agents), int(calls), every_ms))
    return out
