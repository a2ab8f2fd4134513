from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from tqdm import tqdm

from mentiondesk.core.management.base import domain_errors_as_command_errors
from mentiondesk.intake.imports import services
from mentiondesk.intake.imports.formats import FORMATS, NETWORK_OF


class Command(BaseCommand):
    help = (
        "Import history in the format of the handle's network: X (the 'Customer Support on "
        "Twitter' CSV layout, or API v2 pages: a page, a JSON array of pages, or JSON Lines), "
        "Mastodon (an account archive's outbox.json), Bluesky (a repo CAR export, or "
        "listRecords pages of posts). Idempotent; rows that cannot be used are listed by line "
        "and kept as ingest problems."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the file (.gz is read as gzip)")
        parser.add_argument(
            "--handle",
            metavar="USERNAME",
            help="our handle the history belongs to, which decides the network (default: the "
            "only main handle of the file's network)",
        )
        parser.add_argument(
            "--format",
            dest="fmt",
            metavar="|".join(FORMATS),
            help="default: from the file name, else from its first characters",
        )
        parser.add_argument(
            "--open-since",
            metavar="AGE|DATE",
            default=f"{services.HISTORY_OPEN_DAYS}d",
            help="conversations quiet since before this stay history: solved, never in Play "
            "(an age such as 7d or 36h, or a date; default: %(default)s)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        fmt = services.import_format(path=path, fmt=options["fmt"])
        handle = services.import_handle(username=options["handle"], network=NETWORK_OF[fmt])
        open_since = services.open_since_parse(options["open_since"], now=timezone.now())
        # The bar goes to stderr, and only to a terminal: logs and pipes get the summary alone.
        quiet = options["quiet"] or not sys.stderr.isatty()
        size = path.stat().st_size if path.is_file() else None
        reading = tqdm(
            total=size,
            desc="reading",
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=quiet,
            dynamic_ncols=True,
        )
        writing: tqdm[Any] | None = None

        def on_read(consumed: int, rows: int) -> None:
            reading.update(consumed - reading.n)
            elapsed = reading.format_dict["elapsed"] or 1e-9
            reading.set_postfix_str(f"{rows:,} rows, {rows / elapsed:,.0f} rows/s")

        def on_phase(name: str) -> None:
            nonlocal writing
            if writing is None:
                reading.close()
                writing = tqdm(
                    total=len(services.PHASES),
                    desc="writing",
                    unit="step",
                    file=sys.stderr,
                    disable=quiet,
                    bar_format="{desc}: {n_fmt}/{total_fmt}{postfix} [{elapsed}]",
                )
            else:
                writing.update(1)
            writing.set_postfix_str(name)

        try:
            result = services.history_import(
                path=path,
                handle=handle,
                fmt=fmt,
                on_read=on_read,
                on_phase=on_phase,
                open_since=open_since,
            )
        finally:
            reading.close()
            if writing is not None:
                writing.update(len(services.PHASES) - writing.n)
                writing.close()
        self._summary(result)

    def _summary(self, r: services.ImportResult) -> None:
        t = r.totals
        out = self.stdout.write
        out(
            f"{r.path} ({r.format}) as @{r.handle}: {r.rows:,} rows in {r.seconds:.1f} s "
            f"({r.rate:,.0f} rows/s)"
        )
        out(
            f"  posts stored:    {t.stored_in + t.stored_out:,} ({t.stored_in:,} inbound, "
            f"{t.stored_out:,} ours)"
        )
        created = sum(t.tickets_created.values())
        by_status = ", ".join(f"{n:,} {s}" for s, n in sorted(t.tickets_created.items()))
        out(f"  tickets created: {created:,}" + (f" ({by_status})" if by_status else ""))
        if t.tickets_updated:
            out(f"  tickets updated: {t.tickets_updated:,} (follow-ups on tickets we had)")
        out(f"  already stored:  {t.already_stored:,} posts (skipped)")
        if t.other_brands:
            out(f"  skipped:         {t.other_brands:,} replies by accounts that are not ours")
        for what, count in sorted(r.skipped.items()):
            out(f"  skipped:         {count:,} {what}")
        if t.unrelated:
            out(f"  skipped:         {t.unrelated:,} posts in conversations without @{r.handle}")
        if t.orphan_count:
            out(
                f"  imported with an unknown parent: {t.orphan_count:,} replies to posts in "
                "neither the file nor the database (their conversation is named after it)"
            )
            for line, rid, parent in t.orphans:
                out(f"    line {line}: post {rid} replies to {parent}")
            if t.orphan_count > len(t.orphans):
                out(f"    … and {t.orphan_count - len(t.orphans):,} more")
        if r.problem_count:
            kept = (
                "kept as ingest problems"
                if r.problems_kept
                else "already kept as ingest problems by an earlier import of this file"
            )
            out(f"  not usable:      {r.problem_count:,} rows ({kept}):")
            for line, reason in r.problems:
                out(f"    line {line}: {reason}")
            if r.problem_count > len(r.problems):
                out(f"    … and {r.problem_count - len(r.problems):,} more")
