"""The queue page's CPU (issue 21, item 6): what one `GET /` (the whole page) and one
`GET /` from htmx (its rows partial, which the page asks every 5 s) cost Django's process.

The desk is filled like the scale scenario (`scale._fill`: `tickets` tickets, the newest tenth
open with a running SLA clock), once, on PostgreSQL. Then each tree (this one, and with a
baseline another `src/`, e.g. main's) measures in a process of its own, the trees alternating
`rounds` times so both see the same load on a shared machine: an advocate logged in through
the test client (sessions, middleware, view, templates; no socket; the product's settings,
DEBUG off) asks for the page and the partial `requests` times each, alternately, after two
warm-up requests each. Each request's CPU is the process's (`time.process_time`: Django's own
work, without the wait for the database or for a core); its queries are counted.

    python bench/queue_page.py [--tickets 100000] [--requests 200] [--rounds 2]
        [--baseline /work/main/src] [--profile]

`--profile` prints the heaviest functions (cumulative, then own time) of this tree's page and
partial instead. MENTIONDESK_BENCH_PG_URL names the database (dropped and created again; its
name must end with `_bench`)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PG_URL = os.environ.get(
    "MENTIONDESK_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/mentiondesk_bench"
)
# The rows partial is what htmx asks: HX-Request without HX-Boosted (forms_flow.wants_partial).
PARTIAL_HEADERS = {"HTTP_HX_REQUEST": "true"}
KINDS = ("page", "partial")


def fill(*, tickets: int) -> dict[str, int]:
    sys.path.insert(0, str(BENCH))
    from harness import django_start
    from scale import _fill

    django_start()
    return _fill(tickets, tickets // 10)


def worker(*, requests: int, profile: bool = False) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    from harness import django_start, percentile

    os.environ.setdefault("MENTIONDESK_ACCESS_LOG", "0")
    django_start(migrate=False)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mentiondesk.accounts.models import User

    assert not settings.DEBUG, "measure with the product's settings: DEBUG off"
    client = Client(raise_request_exception=True, HTTP_HOST="localhost")
    client.force_login(User.objects.get(username="agent0"))

    def get(kind: str) -> Any:
        response = client.get("/", **(PARTIAL_HEADERS if kind == "partial" else {}))
        assert response.status_code == 200, response.status_code
        return response

    sizes = {}
    for kind in KINDS:  # warm: templates compiled, connection open, caches filled
        for _ in range(2):
            sizes[kind] = len(get(kind).content)
    if profile:
        import cProfile
        import pstats

        for kind in KINDS:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(requests):
                get(kind)
            profiler.disable()
            print(f"--- {kind}, {requests} requests", file=sys.stderr)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(30)
        return {}
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    queries: dict[str, int] = {}
    for n in range(requests):
        for kind in KINDS:
            began = time.process_time()
            get(kind)
            cpu[kind].append(1000 * (time.process_time() - began))
            if n == 0:  # counted apart: capturing costs time too
                with CaptureQueriesContext(connection) as captured:
                    get(kind)
                queries[kind] = len(captured.captured_queries)
    return {
        kind: {
            "p50": percentile(sorted(cpu[kind]), 50),
            "p95": percentile(sorted(cpu[kind]), 95),
            "queries": queries[kind],
            "bytes": sizes[kind],
        }
        for kind in KINDS
    }


def _child(src: Path, work: Path, args: list[str]) -> Any:
    """This script in a process of its own on `src`; its answer is the JSON it prints."""
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "MENTIONDESK_DATABASE_URL": PG_URL,
        "MENTIONDESK_DATA_DIR": str(work),
        "MENTIONDESK_DEBUG": "0",
    }
    command = [sys.executable, __file__, *args]
    return json.loads(subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE).stdout)


def measure(
    *, tickets: int, requests: int, rounds: int, baseline: str | None, name: str | None = None
) -> dict[str, dict[str, Any]]:
    """{tree: {"page"/"partial": {p50, p95 (medians over rounds), queries, bytes}}}, the
    baseline (a `src/` directory, called `name` if given) first when given."""
    sys.path.insert(0, str(BENCH))
    from harness import database_recreate, say

    trees = {"this tree": REPO / "src"}
    if baseline:
        trees = {f"baseline {name or baseline}": Path(baseline), **trees}
    database_recreate(PG_URL, must_end_with="_bench")
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        work = Path(tmp)
        say(f"queue page: filling {tickets:,} tickets ({tickets // 10:,} open)")
        _child(REPO / "src", work, ["--child", "fill", "--tickets", str(tickets)])
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for n in range(rounds):
            for name, src in trees.items():
                say(f"queue page: round {n + 1}, {name}, {requests} requests each")
                measured = _child(src, work, ["--child", "measure", "--requests", str(requests)])
                runs[name].append(measured)
    return {
        name: {
            kind: {
                "p50": median(r[kind]["p50"] for r in results),
                "p95": median(r[kind]["p95"] for r in results),
                "queries": results[0][kind]["queries"],
                "bytes": results[0][kind]["bytes"],
            }
            for kind in KINDS
        }
        for name, results in runs.items()
    }


def lines(results: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (
            f"queue page CPU ({name}): {kind}",
            f"p50 {r['p50']:.1f} / p95 {r['p95']:.1f} ms CPU; {r['queries']} queries; "
            f"{r['bytes']:,} bytes",
        )
        for name, result in results.items()
        for kind, r in result.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", help="another tree's src/ directory, e.g. /work/main/src")
    parser.add_argument("--profile", action="store_true", help="cProfile this tree instead")
    parser.add_argument("--no-fill", action="store_true", help="--profile the last fill again")
    parser.add_argument("--child", choices=("fill", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "fill":
            print(json.dumps(fill(tickets=args.tickets)))
        else:
            print(json.dumps(worker(requests=args.requests)))
    elif args.profile:
        sys.path.insert(0, str(BENCH))
        from harness import database_recreate

        with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
            if not args.no_fill:
                database_recreate(PG_URL, must_end_with="_bench")
                _child(REPO / "src", Path(tmp), ["--child", "fill", "--tickets", str(args.tickets)])
            os.environ.update(MENTIONDESK_DATABASE_URL=PG_URL, MENTIONDESK_DATA_DIR=tmp)
            worker(requests=args.requests, profile=True)
    else:
        load = os.getloadavg()
        results = measure(
            tickets=args.tickets, requests=args.requests, rounds=args.rounds, baseline=args.baseline
        )
        for figure, measured in lines(results):
            print(f"{figure}: {measured}")
        print(f"load average: {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
