"""Issue 6, scenario 4: a team in play mode against a desk with a long history.

1,000,000 tickets on PostgreSQL (the newest 100,000 open, the rest solved by the team), each
with the requester's post and its CREATED event. Then 32 advocates, each in a process of its
own (as web worker processes would be), work the queue through the whole Django stack (the
test client: sessions, middleware, views, templates; no socket): open the queue page, press
"Next" (POST /play/next), follow the redirect to the ticket page, solve the ticket (POST its
status form). Every response is
kept by status code; the queue page's queries are counted; every handed-out ticket is checked
for double assignment, in the agents' answers and in the events.

Rounds are paced (each agent starts a cycle every `every_ms`: an open loop, timed from when
the cycle was due, so queueing is not hidden) or back to back (`every_ms` 0, a closed loop:
the most the machine takes)."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
from collections import Counter, defaultdict
from multiprocessing.synchronize import Barrier
from typing import Any

from harness import django_start, percentile, say

AGENTS = 32


def _fill(tickets: int, open_tickets: int) -> dict[str, int]:
    """`tickets` tickets a minute apart, the newest `open_tickets` new and unassigned (with a
    running SLA clock), the others solved by one of the team; one inbound post and one
    CREATED event each. Written
    by INSERT ... SELECT over generate_series: a million ORM objects would take longer than
    the scenario."""
    from django.db import connection

    from mentiondesk.accounts.models import User
    from mentiondesk.channels.models import Handle, Post
    from mentiondesk.tickets.models import Ticket

    handle = Handle.objects.create(username="Driftwood", remote_id="100", role="main")
    team = [
        User.objects.create(username=f"agent{n}", role=User.Role.ADVOCATE).pk for n in range(AGENTS)
    ]
    params = {
        "handle": handle.pk,
        "tickets": tickets,
        "solved": tickets - open_tickets,
        "team": team,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tickets_ticket (
                network, handle_id, conversation_id, requester_remote_id, requester_username,
                subject, status, assignee_id, created_at, updated_at, last_inbound_at,
                first_response_at, solved_at, intent, escalated_at)
            SELECT 'x', %(handle)s, (1000000000000000000 + n)::text,
                (200000000000000000 + n %% 50000)::text, 'user' || n %% 50000,
                'is the API down? #' || n,
                CASE WHEN n <= %(solved)s THEN 'solved' ELSE 'new' END,
                CASE WHEN n <= %(solved)s
                    THEN (%(team)s::int[])[1 + n %% cardinality(%(team)s::int[])] END,
                at, now(), at,
                CASE WHEN n <= %(solved)s THEN at + interval '20 minutes' END,
                CASE WHEN n <= %(solved)s THEN at + interval '30 minutes' END,
                '', NULL
            FROM generate_series(1, %(tickets)s) AS n,
                LATERAL (SELECT now() - (%(tickets)s - n + 1) * interval '1 minute' AS at) t
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO channels_post (
                network, remote_id, handle_id, ticket_id, direction, author_remote_id,
                author_username, text, created_at, conversation_id, in_reply_to_remote_id,
                mentions, urls, raw, deleted_at, stored_at)
            SELECT 'x', conversation_id, handle_id, id, 'in', requester_remote_id,
                requester_username, '@Driftwood ' || subject, created_at, conversation_id, '',
                '["Driftwood"]', '[]',
                jsonb_build_object('id', conversation_id, 'text', '@Driftwood ' || subject,
                    'author_id', requester_remote_id, 'conversation_id', conversation_id,
                    'created_at', created_at),
                NULL, created_at
            FROM tickets_ticket
            """
        )
        cursor.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, message, data,
                created_at)
            SELECT id, 'created', NULL, '', '{}', created_at FROM tickets_ticket
            """
        )
        # The open tickets' SLA state, as `sla refresh` leaves it: first response due an hour
        # after the mention (the oldest are overdue), so queue rows show their time left.
        cursor.execute(
            """
            INSERT INTO sla_ticketsla (ticket_id, target, priority, due_at,
                due_metric, warn_at, paused_seconds_left, breached_at, refreshed_at)
            SELECT id, 'x-first-response', 'normal', created_at + interval '1 hour',
                'first_response', created_at + interval '45 minutes', NULL, NULL, now()
            FROM tickets_ticket WHERE status = 'new'
            """
        )
        # What autovacuum would have done after a bulk load: planner statistics.
        cursor.execute("VACUUM ANALYZE")
    return {
        "tickets": Ticket.objects.count(),
        "open": Ticket.objects.filter(status="new").count(),
        "posts": Post.objects.count(),
    }


# How an agent's process holds its PostgreSQL connection, for the rounds that compare them
# (issue 21 item 6), applied in the agent's process before its first query:
# "persistent": as configured (CONN_MAX_AGE 60 s, a health check per request: the default);
# "per-request": a new connection for every request (CONN_MAX_AGE 0);
# "pool": psycopg's pool (MENTIONDESK_DATABASE_POOL=4), its check per borrowed connection;
# "pool+prepared": the pool, server-side binding and statements prepared after 2 runs.
CONNECTIONS: dict[str, dict[str, Any]] = {
    "persistent": {},
    "per-request": {"CONN_MAX_AGE": 0},
    "pool": {"CONN_MAX_AGE": 0, "OPTIONS": {"pool": {"min_size": 1, "max_size": 4}}},
    "pool+prepared": {
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            "pool": {"min_size": 1, "max_size": 4},
            "server_side_binding": True,
            "prepare_threshold": 2,
        },
    },
}


def _agent(
    user_id: int, seconds: float, every: float, start: Barrier, results: Any, connections_: str
) -> None:
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mentiondesk.accounts.models import User

    for key, value in CONNECTIONS[connections_].items():
        if key == "OPTIONS":
            connection.settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"], **value}
        else:
            connection.settings_dict[key] = value
    client = Client(raise_request_exception=False, HTTP_HOST="localhost")
    client.force_login(User.objects.get(pk=user_id))
    # Opens the connection and warms the templates; not timed.
    assert client.get("/").status_code == 200, "the queue page does not answer 200"
    statuses: Counter[int] = Counter()
    queue_ms: list[float] = []
    next_ms: list[float] = []
    ticket_ms: list[float] = []
    cpu_ms: dict[str, list[float]] = defaultdict(list)  # by first path segment
    queue_queries: Counter[int] = Counter()
    handed: list[int | None] = []

    def timed(method: str, path: str, data: dict[str, str] | None = None) -> tuple[Any, float]:
        """The response and its wall time; its CPU time (this process's: the request's own
        work, without the wait for a core or for the database) goes in `cpu_ms`."""
        began, cpu = time.perf_counter(), time.process_time()
        response = getattr(client, method)(path, data)
        statuses[response.status_code] += 1
        cpu_ms[path.split("/")[1] or "queue"].append(1000 * (time.process_time() - cpu))
        return response, time.perf_counter() - began

    start.wait()
    began = time.perf_counter() + random.uniform(0, every)
    ends = began + seconds
    cycle = 0
    while True:
        # Open loop: a cycle that starts late because the previous one was slow is timed from
        # when it was due, so queueing is not hidden (no coordinated omission).
        due = began + cycle * every if every else time.perf_counter()
        if due >= ends:
            break
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        late = time.perf_counter() - due if every else 0.0
        # The queries of every tenth queue page are counted (capturing costs time too).
        if cycle % 10 == 0:
            with CaptureQueriesContext(connection) as captured:
                _, took = timed("get", "/")
            queue_queries[len(captured.captured_queries)] += 1
        else:
            _, took = timed("get", "/")
        queue_ms.append(1000 * (late + took))
        response, took = timed("post", "/play/next", {"view": "twitter"})
        next_ms.append(1000 * took)
        location = response.headers.get("Location", "")
        ticket_id = int(location.rstrip("/").rsplit("/", 1)[1]) if "/tickets/" in location else None
        handed.append(ticket_id)
        if ticket_id is not None:
            # What the browser does next: follow the redirect to the ticket, then solve it.
            _, took = timed("get", location)
            ticket_ms.append(1000 * took)
            timed("post", f"/tickets/{ticket_id}/status", {"status": "solved"})
        cycle += 1
    connections.close_all()
    connection.close_pool()
    results.put(
        {
            "user": user_id,
            "statuses": dict(statuses),
            "queue_ms": queue_ms,
            "next_ms": next_ms,
            "ticket_ms": ticket_ms,
            "cpu_ms": cpu_ms,
            "queue_queries": dict(queue_queries),
            "handed": handed,
            "span": (began, time.perf_counter()),
        }
    )


def _round(
    team: list[int], seconds: float, every_ms: float, connections_: str = "persistent"
) -> dict[str, Any]:
    from django.db import connections
    from django.db.models import Count

    from mentiondesk.tickets.models import TicketEvent

    connections.close_all()  # the children must not share this process's connection
    context = mp.get_context("fork")
    start, results = context.Barrier(len(team)), context.Queue()
    processes = [
        context.Process(
            target=_agent, args=(pk, seconds, every_ms / 1000, start, results, connections_)
        )
        for pk in team
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=seconds + 600) for _ in processes]
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"an agent failed (exit {process.exitcode})"

    handed = [pk for a in answers for pk in a["handed"]]
    nexts = sorted(ms for a in answers for ms in a["next_ms"])
    queues = sorted(ms for a in answers for ms in a["queue_ms"])
    pages = sorted(ms for a in answers for ms in a["ticket_ms"])
    cpu = {
        key: _spread(sorted(ms for a in answers for ms in a["cpu_ms"].get(key, [])))
        for key in ("queue", "play", "tickets")
    }
    statuses: Counter[int] = Counter()
    queries: Counter[int] = Counter()
    for a in answers:
        statuses.update({int(k): v for k, v in a["statuses"].items()})
        queries.update({int(k): v for k, v in a["queue_queries"].items()})
    wall = max(a["span"][1] for a in answers) - min(a["span"][0] for a in answers)
    # Over the whole run: a ticket assigned twice has two ASSIGNED events.
    doubles_db = (
        TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED)
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "agents": len(team),
        "connections": connections_,
        "every_ms": every_ms,
        "seconds": seconds,
        "wall_s": wall,
        "cycles": len(nexts),
        "empty": handed.count(None),
        "statuses": dict(statuses),
        "queue_queries": dict(queries),
        "next": _spread(nexts),
        "queue": _spread(queues),
        "ticket": _spread(pages),
        "cpu": cpu,
        "double_client": sum(n - 1 for pk, n in Counter(handed).items() if pk and n > 1),
        "double_db": doubles_db,
    }


def _spread(ms: list[float]) -> dict[str, float]:
    """Nearest-rank percentiles and the maximum of ascending `ms`, keyed for JSON."""
    return {f"p{q}": percentile(ms, q) for q in (50, 95, 99)} | {"max": ms[-1]}


def scale(*, tickets: int, open_tickets: int, rounds: list[list[float | str]]) -> dict[str, Any]:
    """Fill, then each round of [seconds, every_ms] or [seconds, every_ms, connections] (a key
    of CONNECTIONS) with the whole team."""
    # Off: this process's stderr carries the progress lines (a fleet behind nginx has nginx's
    # access log), and 32 agents' lines would bury them.
    os.environ.setdefault("MENTIONDESK_ACCESS_LOG", "0")
    django_start()
    from django.db import connection

    from mentiondesk.accounts.models import User

    assert connection.vendor == "postgresql", "scenario 4 is a PostgreSQL scenario"
    say(f"filling {tickets:,} tickets ({open_tickets:,} open)")
    started = time.perf_counter()
    out: dict[str, Any] = {"fill": _fill(tickets, open_tickets)}
    out["fill_s"] = time.perf_counter() - started
    team = list(User.objects.filter(username__startswith="agent").values_list("pk", flat=True))
    out["rounds"] = []
    for seconds, every_ms, *how in rounds:
        connections_ = str(how[0]) if how else "persistent"
        say(
            f"{len(team)} agents for {seconds} s"
            + (f", a cycle every {every_ms} ms each" if every_ms else ", back to back")
            + f", connections {connections_}"
        )
        out["rounds"].append(_round(team, float(seconds), float(every_ms), connections_))
    return out
