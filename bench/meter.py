"""The X cost meter's flush (issue 21, item 2): time, statements and rows written for the reads
of a poll, on this tree and, with `--baseline REV`, on a git revision's `src/` in the same run.

Each tree runs in a process of its own on a fresh database (migrated, one handle, the public
pay-per-use prices), filled beforehand with the posts and tickets the pages read: 100 posts a
page from 100 authors, 9 in 10 on a ticket of their own, 1 in 10 a follow-up on the previous
post's ticket, and 10 parents of the page before repeated in `includes.tweets` (billed once).
Rounds, each on posts of its own, through the product's `UsageMeter` (the API both trees share):

- page: one mentions page recorded and flushed, `pages` times (a steady poll, one flush each);
- backlog: `pages` pages recorded, one flush (a poll draining a backlog);
- again: the backlog's pages read again the same day (nothing new to bill).

Times are the flush alone (`perf_counter` around `meter.flush()`), medians for `page`.

    python bench/meter.py [--pages 100] [--baseline REV] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PER_PAGE = 100
PG_URL = os.environ.get(
    "MENTIONDESK_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/mentiondesk_bench"
)
POLICY = """
[[handle]]
network = "x"
username = "Driftwood"
role = "main"
credentials_env = "MENTIONDESK_X_TOKEN_DRIFTWOOD"

[x_billing]
currency = "USD"
monthly_budget = 100000.0
warn_at_percent = 80

[x_billing.prices]
post_read = 0.005
user_read = 0.010
post_create = 0.015
post_create_with_url = 0.200
dm_create = 0.015
like = 0.015
post_delete = 0.010
"""


def worker(*, pages: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from harness import django_start

    django_start()
    from datetime import UTC, datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mentiondesk.channels.connectors.base import CallReport
    from mentiondesk.channels.models import Handle, Post
    from mentiondesk.costs.models import BilledResource, XApiUsage
    from mentiondesk.costs.services import UsageMeter
    from mentiondesk.tickets.models import Ticket

    try:
        from mentiondesk.actions.policy import policy_apply_text
    except ImportError:  # a baseline from before actions/ (ca98b11 and earlier)
        from mentiondesk.policy.services import policy_apply_text  # type: ignore[attr-defined,no-redef]

    policy_apply_text(text=POLICY, source="bench.toml")
    handle = Handle.objects.get(username="Driftwood")
    Handle.objects.filter(pk=handle.pk).update(remote_id="1")
    now = datetime.now(UTC)
    next_id = iter(range(10**15, 10**16))

    def pages_made(count: int) -> list[CallReport]:
        """`count` mentions pages over posts stored beforehand, as X answers them."""
        reports = []
        previous: list[str] = []
        for _ in range(count):
            ids = [str(next(next_id)) for _ in range(PER_PAGE)]
            authors = [str(next(next_id)) for _ in range(PER_PAGE)]
            tickets = Ticket.objects.bulk_create(
                Ticket(
                    handle=handle,
                    conversation_id=rid,
                    requester_remote_id=author,
                    requester_username=f"u{author}",
                    created_at=now,
                    last_inbound_at=now,
                )
                for rid, author, n in zip(ids, authors, range(PER_PAGE), strict=True)
                if n % 10
            )
            own = iter(tickets)
            on: list[Ticket] = []
            for n in range(PER_PAGE):  # every tenth post follows up on the one before it
                on.append(next(own) if n % 10 else (on[-1] if on else tickets[0]))
            Post.objects.bulk_create(
                Post(
                    network="x",
                    remote_id=rid,
                    handle=handle,
                    ticket=ticket,
                    direction="in",
                    author_remote_id=author,
                    author_username=f"u{author}",
                    text="@Driftwood a question",
                    created_at=now,
                    conversation_id=rid,
                )
                for rid, author, ticket in zip(ids, authors, on, strict=True)
            )
            body = {
                "data": [{"id": rid, "text": "@Driftwood a question"} for rid in ids],
                "includes": {
                    "users": [{"id": author} for author in authors],
                    "tweets": [{"id": rid} for rid in previous[:10]],
                },
            }
            reports.append(CallReport("GET /2/users/:id/mentions", 200, body=body))
            previous = ids
        return reports

    def counts() -> tuple[int, int]:
        return XApiUsage.objects.count(), BilledResource.objects.count()

    def flush(reports: list[CallReport]) -> dict[str, Any]:
        meter = UsageMeter(handle=handle)
        for report in reports:
            meter(report)
        before = counts()
        with CaptureQueriesContext(connection) as queries:
            started = perf_counter()
            meter.flush()
            seconds = perf_counter() - started
        after = counts()
        writes = [q["sql"] for q in queries if not q["sql"].lstrip().startswith("SELECT")]
        return {
            "ms": seconds * 1000,
            "statements": len(queries),
            "writes": len(writes),
            "usage_rows": after[0] - before[0],
            "billed_rows": after[1] - before[1],
        }

    steady = [flush([report]) for report in pages_made(pages)]
    backlog_pages = pages_made(pages)
    backlog = flush(backlog_pages)
    again = flush(backlog_pages)
    return {
        "page": {
            key: statistics.median(r[key] for r in steady)
            for key in ("ms", "statements", "writes", "usage_rows", "billed_rows")
        },
        "backlog": backlog,
        "again": again,
        "usage_rows_total": XApiUsage.objects.count(),
        "billed_rows_total": BilledResource.objects.count(),
    }


def tree_export(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def run_tree(*, src: Path, work: Path, pages: int, postgres: bool) -> dict[str, Any]:
    """The worker on `src` in a process of its own, on a fresh database."""
    work.mkdir(parents=True)
    if postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from harness import database_recreate

        database_recreate(PG_URL, must_end_with="_bench")
        url = PG_URL
    else:
        url = f"sqlite:///{work / 'bench.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "MENTIONDESK_DATABASE_URL": url,
        "MENTIONDESK_DATA_DIR": str(work),
    }
    out = work / "result.json"
    command = [sys.executable, __file__, "--worker", "--pages", str(pages), "--out", str(out)]
    subprocess.run(command, env=env, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def measure(*, pages: int, baseline: str | None, postgres: bool) -> dict[str, dict[str, Any]]:
    """The worker's figures by tree: the baseline's first (when given), then this tree's."""
    with tempfile.TemporaryDirectory(prefix="meter-bench-") as tmp:
        work = Path(tmp)
        trees = {"this tree": REPO / "src"}
        if baseline:
            trees = {f"baseline {baseline}": tree_export(baseline, work), **trees}
        return {
            name: run_tree(src=src, work=work / f"db{n}", pages=pages, postgres=postgres)
            for n, (name, src) in enumerate(trees.items())
        }


def lines(results: dict[str, dict[str, Any]], *, pages: int) -> list[str]:
    out = []
    for name, r in results.items():
        page, backlog, again = r["page"], r["backlog"], r["again"]
        out.append(
            f"{name}: one page ({PER_PAGE} posts, median of {pages} flushes) "
            f"{page['ms']:.2f} ms, {page['statements']:g} statements ({page['writes']:g} writes), "
            f"rows added {page['usage_rows']:g} usage + {page['billed_rows']:g} billed; "
            f"backlog ({pages * PER_PAGE:,} posts, one flush) {backlog['ms']:.1f} ms, "
            f"{backlog['statements']} statements, rows added {backlog['usage_rows']:,} usage + "
            f"{backlog['billed_rows']:,} billed; the same pages again {again['ms']:.1f} ms, "
            f"{again['usage_rows']} + {again['billed_rows']} rows; ledger at the end "
            f"{r['usage_rows_total']:,} usage rows, {r['billed_rows_total']:,} billed"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--baseline", help="a git revision to measure too, e.g. main")
    parser.add_argument("--postgres", action="store_true", help="MENTIONDESK_BENCH_PG_URL")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.out).write_text(json.dumps(worker(pages=args.pages)))
        return
    print(f"load before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    results = measure(pages=args.pages, baseline=args.baseline, postgres=args.postgres)
    print(f"load after: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    for line in lines(results, pages=args.pages):
        print(line)


if __name__ == "__main__":
    main()
