"""django-helpdesk's side of the side-by-side benchmark (bench/peer.py), and what both sides
share: the rows, the raw-SQL floor's INSERT, and how a listing is timed.

Runs with the python of bench/.peer-venv (django-helpdesk and its own Django, never installed
in mentiondesk's venv), DJANGO_SETTINGS_MODULE pointing at the settings peer.py wrote:

    bench/.peer-venv/bin/python bench/peer_helpdesk_driver.py TASK PARAMS_JSON

prints one JSON object on stdout. Tasks: create (the public ticket form), create_model (the
models' own save, no form), raw_create (the floor), list (its ticket list, then the floor).
Nothing here imports mentiondesk, and peer.py imports only the shared helpers from here."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from harness import percentile, say

PAGE = 100  # tickets per page: a mentions page, a transaction of the floor, a listed page
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """One incoming request, the same on both sides: a mention or a web form submission."""

    n: int
    remote_id: str
    author_id: str
    username: str
    text: str
    created_at: datetime

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


def rows(count: int, *, start: int = 0) -> list[Row]:
    """`count` requests from distinct requesters, a minute apart (one ticket each)."""
    return [
        Row(
            n=n,
            remote_id=str(10**18 + n),
            author_id=str(2 * 10**17 + n),
            username=f"user{n}",
            text=f"@Driftwood is the API down? I get 503 on every call since 09:00, ticket #{n}",
            created_at=EPOCH + timedelta(minutes=n),
        )
        for n in range(start, start + count)
    ]


def pages(items: list[Any], size: int = PAGE) -> Iterator[list[Any]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]


def db_values(obj: Any, fields: list[Any], connection: Any) -> tuple[Any, ...]:
    """The row as the model's fields would send it (prepared before any timer starts)."""
    return tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)


def insert_sql(model: Any, fields: list[Any], connection: Any) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    # Names from the models, values as parameters.
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608


def raw_insert(batches: list[list[tuple[str, list[tuple[Any, ...]]]]]) -> float:
    """The floor: per page one transaction, one executemany per table. Returns seconds."""
    from django.db import connection, transaction

    started = perf_counter()
    for batch in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, values in batch:
                cursor.executemany(sql, values)
    return perf_counter() - started


def timed_listing(fn: Callable[[], Any], *, runs: int) -> dict[str, Any]:
    """Call `fn` `runs` times after 3 warm-up calls: median and p95 in ms, and the number of
    queries per call (the same every call, or the list of counts if not)."""
    from django.db import connection

    counts: list[int] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counts[-1] += 1
        return execute(sql, params, many, context)

    for _ in range(3):
        fn()
    times = []
    with connection.execute_wrapper(count):
        for _ in range(runs):
            counts.append(0)
            started = perf_counter()
            result = fn()
            times.append((perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 95),
        "queries": counts[0] if len(set(counts)) == 1 else counts,
        "rows": len(result),
        "runs": runs,
    }


def vacuum_analyze() -> None:
    """What autovacuum would have done after a bulk load: planner statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- django-helpdesk -----------------------------------------------------------------------

OPEN = (1, 2)  # helpdesk's OPEN_STATUS and REOPENED_STATUS: its default list filter


def _start() -> tuple[Any, Any]:
    """Django on the settings peer.py wrote, migrated; one public queue and a superuser."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model
    from helpdesk.models import Queue

    queue = Queue.objects.create(title="Desk", slug="desk", allow_public_submission=True)
    user = get_user_model().objects.create_superuser("lead", "lead@example.com", "x")
    return queue, user


def create(*, tickets: int) -> dict[str, Any]:
    """The public ticket form, as its CreateTicketView runs it on a POST: the form built and
    validated from the submitted data, then `form.save()` (Ticket, FollowUp, the submitter's
    e-mail rendered from its template and sent to the locmem backend). Autocommit, as its
    views run (no ATOMIC_REQUESTS)."""
    queue, _ = _start()
    from helpdesk.forms import PublicTicketForm

    data = rows(tickets)
    started = perf_counter()
    for row in data:
        form = PublicTicketForm(
            data={
                "queue": str(queue.pk),
                "title": row.text[:100],
                "body": row.text,
                "priority": "3",
                "submitter_email": row.email,
            }
        )
        if not form.is_valid():
            raise SystemExit(f"helpdesk form rejected row {row.n}: {form.errors.as_json()}")
        form.save(user=None)
    return {"seconds": perf_counter() - started, **_counts()}


def create_model(*, tickets: int) -> dict[str, Any]:
    """The models alone, no form and no e-mail: `Ticket.save()` and `FollowUp.save()` (which
    saves the ticket again, as its model does), the least its views do per ticket."""
    queue, _ = _start()
    from django.utils import timezone
    from helpdesk.models import FollowUp, Ticket

    data = rows(tickets)
    started = perf_counter()
    for row in data:
        ticket = Ticket(
            title=row.text[:100],
            submitter_email=row.email,
            created=timezone.now(),
            status=Ticket.OPEN_STATUS,
            queue=queue,
            description=row.text,
            priority=3,
        )
        ticket.save()
        FollowUp(ticket=ticket, title="Ticket Opened Via Web", public=True, comment=row.text).save()
    return {"seconds": perf_counter() - started, **_counts()}


def _ticket_objects(queue: Any, data: list[Row], *, status: Callable[[Row], int]) -> list[Any]:
    from helpdesk.models import FollowUp, Ticket

    objects = []
    for row in data:
        ticket = Ticket(
            id=row.n + 1,
            title=row.text[:100],
            submitter_email=row.email,
            created=row.created_at,
            modified=row.created_at,
            status=status(row),
            queue=queue,
            description=row.text,
            priority=3,
        )
        followup = FollowUp(
            id=row.n + 1,
            ticket=ticket,
            title="Ticket Opened Via Web",
            date=row.created_at,
            public=True,
            comment=row.text,
            email_recipients=[row.email],
        )
        objects.append((ticket, followup))
    return objects


def raw_create(*, tickets: int) -> dict[str, Any]:
    """The floor for what `create` writes: helpdesk_ticket and helpdesk_followup rows, every
    column, one executemany per table per page of 100."""
    queue, _ = _start()
    from django.db import connection
    from helpdesk.models import FollowUp, Ticket

    t_fields, f_fields = list(Ticket._meta.concrete_fields), list(FollowUp._meta.concrete_fields)
    t_sql, f_sql = (
        insert_sql(Ticket, t_fields, connection),
        insert_sql(FollowUp, f_fields, connection),
    )
    objects = _ticket_objects(queue, rows(tickets), status=lambda r: Ticket.OPEN_STATUS)
    batches = [
        [
            (t_sql, [db_values(t, t_fields, connection) for t, _ in page]),
            (f_sql, [db_values(f, f_fields, connection) for _, f in page]),
        ]
        for page in pages(objects)
    ]
    return {"seconds": raw_insert(batches), **_counts()}


def _counts() -> dict[str, int]:
    from helpdesk.models import FollowUp, Ticket

    return {"tickets": Ticket.objects.count(), "followups": FollowUp.objects.count()}


def listing(*, tickets: int, runs: int) -> dict[str, Any]:
    """`tickets` tickets (every other one open, each with its opening follow-up), then the
    first page of open tickets as its ticket list gets it: the default query of `ticket_list`
    (status in open/reopened, sorted by created) through `__Query__.get_datatables_context`,
    the JSON its DataTable loads (two counts, the page, DatatablesTicketSerializer), at 100
    rows a page like mentiondesk's queue. Then the page alone (serialized, without counts),
    then the floor: a bare SELECT of the same page, with an index made for it."""
    queue, user = _start()
    from helpdesk.models import FollowUp, Ticket
    from helpdesk.query import __Query__, last_followup_subquery
    from helpdesk.serializers import DatatablesTicketSerializer
    from helpdesk.user import HelpdeskUser

    say(f"helpdesk: {tickets:,} tickets")
    for page in pages(list(range(tickets)), 5_000):
        objects = _ticket_objects(
            queue, rows(len(page), start=page[0]), status=lambda r: OPEN[0] if r.n % 2 else 4
        )
        Ticket.objects.bulk_create([t for t, _ in objects])
        FollowUp.objects.bulk_create([f for _, f in objects])
    vacuum_analyze()

    params = {"filtering": {"status__in": list(OPEN)}, "sorting": "created", "search_string": ""}
    huser = HelpdeskUser(user)

    def screen() -> list[Any]:
        query = __Query__(huser, query_params=json.loads(json.dumps(params)))
        return query.get_datatables_context(length=[str(PAGE)], start=["0"], draw=["1"])["data"]

    def page_only() -> list[Any]:
        query = __Query__(huser, query_params=json.loads(json.dumps(params)))
        qs = query.get().annotate(last_followup=last_followup_subquery()).order_by("created")
        return DatatablesTicketSerializer(qs[:PAGE], many=True).data

    result = {
        "screen": timed_listing(screen, runs=runs),
        "page": timed_listing(page_only, runs=runs),
    }
    assert result["screen"]["rows"] == PAGE, result["screen"]
    query = __Query__(huser, query_params=json.loads(json.dumps(params)))
    page_qs = query.get().annotate(last_followup=last_followup_subquery()).order_by("created")
    result["plan"] = " / ".join(line.strip() for line in page_qs[:PAGE].explain().splitlines())
    # helpdesk has no index for this filter and order: the floor gets one (after its runs).
    floor_index("helpdesk_ticket", "created, id", "status IN (1, 2)")
    result["floor"] = floor_listing(Ticket, "status IN (1, 2)", "created, id", runs=runs)
    return {**result, **_counts()}


def floor_index(table: str, columns: str, where: str) -> None:
    """The index a bare SELECT of the first open page wants, made after the product's runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX peer_bench_open ON {table} ({columns}) WHERE {where}")
    vacuum_analyze()


def floor_listing(model: Any, where: str, order: str, *, runs: int) -> dict[str, Any]:
    """A bare SELECT of every column of the first page, through Django's connection."""
    from django.db import connection

    columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)
    sql = (
        f"SELECT {columns} FROM {model._meta.db_table} "  # noqa: S608 (our constants)
        f"WHERE {where} ORDER BY {order} LIMIT {PAGE}"
    )

    def select() -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    result = timed_listing(select, runs=runs)
    with connection.cursor() as cursor:
        explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
        cursor.execute(f"{explain} {sql}")
        result["plan"] = " / ".join(str(r[-1]).strip() for r in cursor.fetchall())
    return result


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "create": create,
    "create_model": create_model,
    "raw_create": raw_create,
    "list": listing,
}

if __name__ == "__main__":
    task, params = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(TASKS[task](**params)))
