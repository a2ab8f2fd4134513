from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.audit import selectors
from mentiondesk.audit.constants import EXPORT_FORMATS
from mentiondesk.core.management.base import domain_errors_as_command_errors


class Command(BaseCommand):
    help = (
        "The audit log: `audit export` writes every ticket event (filtered) as CSV or JSON, "
        "oldest first, to stdout or --output FILE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="export audit events as CSV or JSON")
        # Values are checked in handle(), so a bad one is a CommandError (exit 1) that says
        # what is wrong, like every other refusal of this command.
        export.add_argument("--ticket", metavar="N", help="only this ticket's events")
        export.add_argument("--user", metavar="NAME", help="only events by this user")
        export.add_argument("--kind", metavar="KIND", help="only events of this kind")
        export.add_argument(
            "--since", metavar="ISO", help="from this time, inclusive (2026-11-20 or …T09:00Z)"
        )
        export.add_argument("--until", metavar="ISO", help="up to this time, exclusive")
        export.add_argument(
            "--format", dest="fmt", default="csv", metavar="csv|json", help="default: csv"
        )
        export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["fmt"]
        if fmt not in EXPORT_FORMATS:
            raise CommandError(f"--format: use one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
        events = selectors.audit_events(
            ticket_id=_ticket_id(options["ticket"]),
            actor=options["user"],
            kind=options["kind"],
            since=_instant(options["since"], option="--since"),
            until=_instant(options["until"], option="--until"),
        )
        chunks = selectors.audit_export(events=events, fmt=fmt)
        if not options["output"]:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        path = Path(options["output"])
        # Written beside the target and renamed into place: a failed export never leaves a
        # half-written file under the name asked for.
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            raise CommandError(f"--output: cannot write to {path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stdout.write(f"Wrote the audit export ({fmt}) to {path}")


def _ticket_id(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        ticket_id = int(value)
    except ValueError:
        raise CommandError(f"--ticket: {value!r} is not a ticket number") from None
    if ticket_id < 1:
        raise CommandError(f"--ticket: {value!r} is not a ticket number")
    return ticket_id


def _instant(value: str | None, *, option: str) -> datetime | None:
    """An ISO 8601 date or time; without an offset it is UTC (the selector says so)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            f"{option}: {value!r} is not an ISO 8601 date or time "
            "(for example 2026-11-20 or 2026-11-20T09:00:00Z)"
        ) from None
