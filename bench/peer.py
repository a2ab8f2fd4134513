"""Side by side with django-helpdesk (`make peer`): tickets created per second and the first
page of the open-ticket queue at 100,000 tickets, each through its own service layer, each
against its raw-SQL floor, on the same PostgreSQL server, in one run.

    .venv/bin/python bench/peer.py [--tickets N] [--create N] [--runs N] [--quick]
                                   [--only create|list] [--sqlite]

django-helpdesk lives in its own virtual environment, bench/.peer-venv, which this script makes
on first use (`python3 -m venv`, then pip with the pins below; never a dependency of
mentiondesk). Its side runs as a child process of that venv's python with
bench/peer_helpdesk_driver.py and a settings module written here into a temporary directory.
Every measurement runs in a process of its own on a freshly created database: bench_peer_md
for mentiondesk, bench_peer_helpdesk for django-helpdesk (both dropped and created again).
With --sqlite the same runs again on SQLite files (one per measurement, in the temporary
directory). Progress goes to stderr, the table to stdout; targets are reported, never asserted.
MENTIONDESK_BENCH_PG_SERVER names another PostgreSQL server (postgres://user@host:port)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

import dj_database_url
from harness import database_recreate, django_start, say
from peer_helpdesk_driver import (
    PAGE,
    db_values,
    floor_index,
    floor_listing,
    insert_sql,
    pages,
    raw_insert,
    rows,
    timed_listing,
    vacuum_analyze,
)

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".peer-venv"
# The peer and its own Django, pinned; psycopg as mentiondesk's, so both talk to PostgreSQL alike.
PEER_PINS = ["django-helpdesk==2.6.1", "Django==5.2.19", "psycopg[binary]==3.3.9"]
PG_SERVER = os.environ.get("MENTIONDESK_BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASES = {"mentiondesk": "bench_peer_md", "django-helpdesk": "bench_peer_helpdesk"}
# Goals from issue 6.
CREATE_GOAL, LIST_GOAL, FLOOR_GOAL = 10.0, 5.0, 3.0

HELPDESK_SETTINGS = """\
# Written by mentiondesk's bench/peer.py: the least django-helpdesk needs to run its forms,
# models and ticket list. Configuration only.
import json
import os

SECRET_KEY = "bench-only"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "helpdesk",
]
SITE_ID = 1
DATABASES = {"default": json.loads(os.environ["PEER_HELPDESK_DATABASE"])}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HELPDESK_TEAMS_MODE_ENABLED = False  # needs pinax-teams
ROOT_URLCONF = "peer_urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
"""
HELPDESK_URLS = (
    'from django.urls import include, path\n\nurlpatterns = [path("", include("helpdesk.urls"))]\n'
)


# --- the run ---------------------------------------------------------------------------------


def peer_venv() -> Path:
    """bench/.peer-venv's python, made and filled with PEER_PINS when missing or stale."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".pins"
    if not (python.exists() and stamp.exists() and stamp.read_text() == "\n".join(PEER_PINS)):
        say(f"making {PEER_VENV} with {', '.join(PEER_PINS)}")
        subprocess.run(["python3", "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *PEER_PINS], check=True)
        stamp.write_text("\n".join(PEER_PINS))
    return python


def pg_config(name: str) -> dict[str, Any]:
    return dict(dj_database_url.parse(f"{PG_SERVER}/{name}"))


def pg_recreate(name: str) -> None:
    """Drop and create one of this benchmark's databases (never another: the name is checked)."""
    assert name in DATABASES.values(), f"refusing to drop {name!r}"
    database_recreate(f"{PG_SERVER}/{name}", must_end_with=name)


class Run:
    def __init__(self, workdir: Path, peer_python: Path) -> None:
        self.workdir = workdir
        self.peer_python = peer_python
        self.count = 0
        self.engine = "postgresql"  # or "sqlite": a new file per measurement
        settings_dir = workdir / "helpdesk"
        settings_dir.mkdir()
        (settings_dir / "peer_settings.py").write_text(HELPDESK_SETTINGS)
        (settings_dir / "peer_urls.py").write_text(HELPDESK_URLS)
        self.helpdesk_env = {
            **os.environ,
            "PYTHONPATH": str(settings_dir),
            "DJANGO_SETTINGS_MODULE": "peer_settings",
        }

    def child(self, product: str, task: str, **params: Any) -> dict[str, Any]:
        """`task` of `product` in a new process on its freshly created database."""
        self.count += 1
        say(f"[{self.count}] {product} on {self.engine}: {task} {params}")
        data_dir = self.workdir / f"{self.count:02d}-{task}"
        data_dir.mkdir()
        if self.engine == "sqlite":
            url = f"sqlite:///{data_dir / 'bench.db'}"
        else:
            pg_recreate(DATABASES[product])
            url = f"{PG_SERVER}/{DATABASES[product]}"
        if product == "django-helpdesk":
            command = [str(self.peer_python), str(HERE / "peer_helpdesk_driver.py")]
            database = {
                k: str(v) if isinstance(v, Path) else v
                for k, v in dj_database_url.parse(url).items()
                if k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
            }
            env = {**self.helpdesk_env, "PEER_HELPDESK_DATABASE": json.dumps(database)}
        else:
            command = [sys.executable, __file__, "--worker"]
            env = {
                **os.environ,
                "MENTIONDESK_DATABASE_URL": url,
                "MENTIONDESK_DATA_DIR": str(data_dir),
            }
        done = subprocess.run(
            [*command, task, json.dumps(params)], env=env, check=True, stdout=subprocess.PIPE
        )
        result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
        return result


def peer_versions(peer_python: Path) -> str:
    out = subprocess.run(
        [str(peer_python), "-m", "pip", "freeze", "--disable-pip-version-check"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    wanted = ("django-helpdesk", "django", "djangorestframework", "psycopg")
    return ", ".join(line for line in out.split() if line.split("==")[0].lower() in wanted)


def ratio_verdict(ratio: float, goal: float) -> str:
    return f"≥ {goal:g}x: {'met' if ratio >= goal else 'MISSED'}"


def floor_verdict(product: float, floor: float) -> str:
    times = product / floor
    verdict = "met" if times <= FLOOR_GOAL else "MISSED"
    return f"{times:.1f}x the floor; within {FLOOR_GOAL:g}x: {verdict}"


def listing_figure(r: dict[str, Any]) -> str:
    return f"p50 {r['p50_ms']:.1f} / p95 {r['p95_ms']:.1f} ms, {r['queries']} queries"


Rows = list[tuple[str, str, str, str]]


def creation(run: Run, n: int) -> Rows:
    # The two products alternate with their floors, so the machine's load hits all alike.
    md = run.child("mentiondesk", "md_create", tickets=n)
    hd = run.child("django-helpdesk", "create", tickets=n)
    md_floor = run.child("mentiondesk", "md_raw_create", tickets=n)
    hd_floor = run.child("django-helpdesk", "raw_create", tickets=n)
    hd_model = run.child("django-helpdesk", "create_model", tickets=n)
    assert md["tickets"] == hd["tickets"] == hd_model["tickets"] == n, (md, hd, hd_model)
    results = {"md": md, "hd": hd, "mdf": md_floor, "hdf": hd_floor, "hdm": hd_model}
    rate = {k: n / r["seconds"] for k, r in results.items()}
    name = f"create {n:,} tickets ({run.engine})"
    return [
        (
            name,
            "mentiondesk",
            f"{rate['md']:,.0f} tickets/s (`mentions_store`, pages of {PAGE})",
            "",
        ),
        (name, "django-helpdesk", f"{rate['hd']:,.0f} tickets/s (PublicTicketForm + save)", ""),
        (
            name,
            "django-helpdesk, models alone",
            f"{rate['hdm']:,.0f} tickets/s (Ticket.save + FollowUp.save, no form or e-mail)",
            "info",
        ),
        (
            name,
            "mentiondesk / django-helpdesk",
            f"{rate['md'] / rate['hd']:.1f}x "
            f"(against its models alone {rate['md'] / rate['hdm']:.1f}x)",
            ratio_verdict(rate["md"] / rate["hd"], CREATE_GOAL),
        ),
        (
            name,
            "mentiondesk floor",
            f"{rate['mdf']:,.0f} tickets/s (executemany: ticket, post, event)",
            floor_verdict(rate["mdf"], rate["md"]),
        ),
        (
            name,
            "django-helpdesk floor",
            f"{rate['hdf']:,.0f} tickets/s (executemany: ticket, follow-up)",
            floor_verdict(rate["hdf"], rate["hd"]),
        ),
    ]


def listing(run: Run, tickets: int, runs: int) -> tuple[Rows, list[str]]:
    md = run.child("mentiondesk", "md_list", tickets=tickets, runs=runs)
    hd = run.child("django-helpdesk", "list", tickets=tickets, runs=runs)
    name = f"open queue page 1 ({PAGE} rows), {tickets:,} tickets ({run.engine})"
    table: Rows = []
    for kind, label in (("screen", "rows + counts"), ("page", "rows alone")):
        ours, theirs = md[kind], hd[kind]
        ratio = theirs["p50_ms"] / ours["p50_ms"]
        table += [
            (name, f"mentiondesk: {label}", listing_figure(ours), ""),
            (name, f"django-helpdesk: {label}", listing_figure(theirs), ""),
            (
                name,
                f"ratio, {label}",
                f"{ratio:.1f}x at p50, {theirs['p95_ms'] / ours['p95_ms']:.1f}x at p95",
                ratio_verdict(ratio, LIST_GOAL),
            ),
        ]
    for who, r in (("mentiondesk", md), ("django-helpdesk", hd)):
        verdict = floor_verdict(r["page"]["p50_ms"], r["floor"]["p50_ms"])
        table.append((name, f"{who} floor", listing_figure(r["floor"]), f"rows alone: {verdict}"))
    # The plans, shortened: helpdesk's sort key lists every column.
    plans = [
        f"- {who} ({run.engine}): {r['plan'][:700]}\n  floor: {r['floor']['plan']}"
        for who, r in (("mentiondesk", md), ("django-helpdesk", hd))
    ]
    return table, plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets for the listing")
    parser.add_argument("--create", type=int, default=2_000, help="tickets created")
    parser.add_argument("--runs", type=int, default=15, help="timed listings of each kind")
    parser.add_argument("--quick", action="store_true", help="10x smaller: a smoke run")
    parser.add_argument("--only", choices=["create", "list"], help="one of the two")
    parser.add_argument("--sqlite", action="store_true", help="then the same on SQLite files")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.create = args.tickets // 10, args.create // 10
    load_before = os.getloadavg()[0]
    started = perf_counter()
    peer_python = peer_venv()
    table: Rows = []
    plans: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mentiondesk-peer-") as tmp:
        run = Run(Path(tmp), peer_python)
        for engine in ["postgresql", "sqlite"] if args.sqlite else ["postgresql"]:
            run.engine = engine
            if args.only in (None, "create"):
                table += creation(run, args.create)
            if args.only in (None, "list"):
                listed, engine_plans = listing(run, args.tickets, args.runs)
                table += listed
                plans += engine_plans
    print(markdown_table(table))
    if plans:
        print("\nplans (EXPLAIN of the product's page query, then of the floor's):")
        print("\n".join(plans))
    versions = peer_versions(peer_python)
    print(f"\npeer venv: {versions}; mentiondesk: Python {platform.python_version()}")
    # The machine is shared: other work during the run shows here.
    print(
        f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{perf_counter() - started:.0f} s"
    )


def markdown_table(table: list[tuple[str, str, str, str]]) -> str:
    header = ("benchmark", "who", "figure", "goal")
    lines = [header, tuple("---" for _ in header), *table]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


# --- mentiondesk's side, one task per child process ------------------------------------------


def _handle() -> Any:
    from mentiondesk.channels.models import Handle

    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


def _md_counts() -> dict[str, int]:
    from mentiondesk.channels.models import Post
    from mentiondesk.tickets.models import Ticket, TicketEvent

    return {
        "tickets": Ticket.objects.count(),
        "posts": Post.objects.count(),
        "events": TicketEvent.objects.count(),
    }


def md_create(*, tickets: int) -> dict[str, Any]:
    """Parsed mentions, one new requester each, into `mentions_store` a page of 100 at a time,
    as `handle_poll` hands them over (one transaction per page)."""
    django_start()
    from mentiondesk.channels.connectors.base import RemotePost
    from mentiondesk.intake.ingest import mentions_store

    handle = _handle()
    posts = [
        RemotePost(
            remote_id=r.remote_id,
            author_id=r.author_id,
            author_username=r.username,
            text=r.text,
            created_at=r.created_at,
            conversation_id=r.remote_id,
            mentions=("Driftwood",),
            raw={"id": r.remote_id, "text": r.text, "author_id": r.author_id},
        )
        for r in rows(tickets)
    ]
    started = perf_counter()
    for page in pages(posts):
        mentions_store(handle=handle, posts=page)
    return {"seconds": perf_counter() - started, **_md_counts()}


def _md_ticket(handle: Any, r: Any, *, status: str, now: Any) -> Any:
    from mentiondesk.tickets.models import Ticket

    return Ticket(
        id=r.n + 1,
        handle=handle,
        conversation_id=r.remote_id,
        requester_remote_id=r.author_id,
        requester_username=r.username,
        subject=r.text[:140],
        status=status,
        created_at=r.created_at,
        last_inbound_at=r.created_at,
        updated_at=now,
    )


def md_raw_create(*, tickets: int) -> dict[str, Any]:
    """The floor for what `md_create` writes: a ticket, a post and a CREATED event per mention,
    every column, one executemany per table per page of 100."""
    django_start()
    from django.db import connection
    from django.utils import timezone

    from mentiondesk.channels.models import Post
    from mentiondesk.tickets.models import Ticket, TicketEvent

    handle, now = _handle(), timezone.now()
    fields = {
        m: [f for f in m._meta.concrete_fields if m is Ticket or not f.primary_key]
        for m in (Ticket, Post, TicketEvent)
    }
    sql = {m: insert_sql(m, f, connection) for m, f in fields.items()}
    batches = []
    for page in pages(rows(tickets)):
        objects: dict[Any, list[tuple[Any, ...]]] = {m: [] for m in fields}
        for r in page:
            ticket = _md_ticket(handle, r, status=Ticket.Status.NEW, now=now)
            post = Post(
                remote_id=r.remote_id,
                handle=handle,
                ticket_id=ticket.id,
                direction=Post.Direction.INBOUND,
                author_remote_id=r.author_id,
                author_username=r.username,
                text=r.text,
                created_at=r.created_at,
                conversation_id=r.remote_id,
                mentions=["Driftwood"],
                urls=[],
                raw={"id": r.remote_id, "text": r.text, "author_id": r.author_id},
                stored_at=now,
            )
            event = TicketEvent(ticket_id=ticket.id, kind=TicketEvent.Kind.CREATED, created_at=now)
            for m, obj in ((Ticket, ticket), (Post, post), (TicketEvent, event)):
                objects[m].append(db_values(obj, fields[m], connection))
        batches.append([(sql[m], values) for m, values in objects.items()])
    return {"seconds": raw_insert(batches), **_md_counts()}


def md_fill(tickets: int) -> None:
    """`tickets` tickets, every other one open, each with its CREATED event, by bulk_create."""
    from django.utils import timezone

    from mentiondesk.tickets.models import Ticket, TicketEvent

    handle, now = _handle(), timezone.now()
    say(f"mentiondesk: {tickets:,} tickets")
    for page in pages(list(range(tickets)), 5_000):
        batch = [
            _md_ticket(handle, r, status="new" if r.n % 2 else "solved", now=now)
            for r in rows(len(page), start=page[0])
        ]
        Ticket.objects.bulk_create(batch)
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket=t, kind=TicketEvent.Kind.CREATED) for t in batch
        )
    vacuum_analyze()


def md_list(*, tickets: int, runs: int) -> dict[str, Any]:
    """`tickets` tickets (every other one open, each with its CREATED event), then page 1 of
    the default view ("twitter": open X tickets, oldest first) as the queue page gets it:
    `ticket_list(view=...)[:100]` with handle and assignee, plus `ticket_count_by_view()` (the
    sidebar counts every desk page shows); then the rows alone; then the floor, a bare SELECT
    of the same page with an index made for it."""
    django_start()

    from mentiondesk.tickets.models import Ticket
    from mentiondesk.tickets.selectors import ticket_count_by_view, ticket_list

    md_fill(tickets)

    def page_only() -> list[Any]:
        found = list(ticket_list(view="twitter")[:PAGE])
        for ticket in found:
            ticket.handle, ticket.assignee  # noqa: B018 (the template shows both)
        return found

    def screen() -> list[Any]:
        found = page_only()
        ticket_count_by_view()
        return found

    result = {
        "screen": timed_listing(screen, runs=runs),
        "page": timed_listing(page_only, runs=runs),
    }
    assert result["page"]["rows"] == PAGE, result["page"]
    result["plan"] = " / ".join(
        line.strip() for line in ticket_list(view="twitter")[:PAGE].explain().splitlines()
    )
    floor_index("tickets_ticket", "created_at, id", "status IN ('new', 'open')")
    result["floor"] = floor_listing(
        Ticket, "network = 'x' AND status IN ('new', 'open')", "created_at, id", runs=runs
    )
    return {**result, **_md_counts()}


WORKERS = {"md_create": md_create, "md_raw_create": md_raw_create, "md_list": md_list}

if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        task, params = sys.argv[2], json.loads(sys.argv[3])
        print(json.dumps(WORKERS[task](**params)))
    else:
        main()
