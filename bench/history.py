"""History import benchmark: a generated CSV in the "Customer Support on Twitter" layout,
imported by `history_import` on a fresh database (one process, like every worker).

The file looks like the public data set: conversations of 1 to 7 posts alternating between
a customer and the brand, written newest first within each conversation (replies before
the posts they answer, as in the original), times as `Tue Oct 31 22:10:47 +0000 2017`.
4 % of the conversations are with another brand (skipped by the import), 1 in 2,000 rows
is broken (a bad date or a missing column)."""

from __future__ import annotations

import csv
import random
import resource
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from harness import django_start, say

from mentiondesk.intake.imports.readers import CSV_COLUMNS

HANDLE = "Driftwood"
OTHER = "AmazonHelp"
WORDS = [
    "push", "fails", "with", "502", "since", "this", "morning", "runner", "stuck", "pipeline",
    "pending", "merge", "request", "cannot", "login", "two", "factor", "reset", "password",
    "billing", "invoice", "pages", "deploy", "timeout", "SSH", "key", "webhook", "not",
    "firing", "thanks", "great", "job", "love", "the", "new", "release", "docs", "link",
    "broken",
]  # fmt: skip


def csv_write(path: Path, *, rows: int, seed: int = 7) -> dict[str, int]:
    """Write `rows` rows; returns what was written by kind."""
    rng = random.Random(seed)
    moment = datetime(2017, 10, 1, tzinfo=UTC)
    next_id, written, broken, other = 1, 0, 0, 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        customer = 100_000
        while written < rows:
            customer += 1
            brand = OTHER if rng.random() < 0.04 else HANDLE
            length = min(rng.choice((1, 2, 2, 3, 3, 4, 5, 7)), rows - written)
            posts = []
            parent = ""
            for i in range(length):
                moment += timedelta(seconds=rng.randint(1, 40))
                ours = i % 2 == 1
                text = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
                posts.append(
                    [
                        str(next_id),
                        brand if ours else str(customer),
                        "False" if ours else "True",
                        moment.strftime("%a %b %d %H:%M:%S +0000 %Y"),
                        f"@{customer} {text}" if ours else f"@{brand} {text}",
                        "",
                        parent,
                    ]
                )
                parent = str(next_id)
                next_id += 1
            for i, post in enumerate(posts[:-1]):
                post[5] = posts[i + 1][0]
            for post in reversed(posts):
                written += 1
                if written % 2000 == 0:
                    broken += 1
                    if written % 4000 == 0:
                        post[3] = post[3].replace(" 20", " 99:")  # a malformed date
                    else:
                        post = post[:5]  # a missing column
                other += brand == OTHER
                out.writerow(post)
    return {"rows": written, "broken": broken, "other_brand": other}


def run(*, rows: int, csv_path: str) -> dict[str, Any]:
    """Import `csv_path` (`rows` rows) twice (the second time must add nothing); time both."""
    del rows  # the count is read back from the import
    django_start()
    from mentiondesk.channels.models import Handle, IngestProblem, Post
    from mentiondesk.intake.imports import services
    from mentiondesk.tickets.models import Ticket, TicketDocument, TicketEvent

    handle = Handle.objects.create(username=HANDLE, role="main")
    Handle.objects.create(username="DriftwoodStatus", role="status")
    path = Path(csv_path)

    def counts() -> dict[str, int]:
        return {
            "posts": Post.objects.count(),
            "tickets": Ticket.objects.count(),
            "events": TicketEvent.objects.count(),
            "documents": TicketDocument.objects.count(),
            "problems": IngestProblem.objects.count(),
        }

    phases: dict[str, float] = {}

    def on_phase(name: str) -> None:
        phases[name] = perf_counter()

    started = perf_counter()
    first = services.history_import(path=path, handle=handle, fmt="csv", on_phase=on_phase)
    ended = perf_counter()
    names = list(phases)
    stamps = [started, *phases.values(), ended]
    split = {"reading": stamps[1] - stamps[0]}
    split.update({name: stamps[i + 2] - stamps[i + 1] for i, name in enumerate(names)})
    after_first = counts()
    say(f"import 1: {first.rows:,} rows in {first.seconds:.1f} s; {split}")
    second = services.history_import(path=path, handle=handle, fmt="csv")
    say(f"import 2: {second.rows:,} rows in {second.seconds:.1f} s")
    return {
        "rows": first.rows,
        "seconds": first.seconds,
        "phases": split,
        "again_seconds": second.seconds,
        "first": after_first,
        "second": counts(),
        "tickets_by_status": first.totals.tickets_created,
        "problems": first.problem_count,
        "skipped": first.totals.other_brands + first.totals.unrelated,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
