from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.core.errors import DomainError
from mentiondesk.reports import formats, selectors
from mentiondesk.reports.constants import REPORT_FORMATS


class Command(BaseCommand):
    help = (
        "Ticket volume, first-response times, backlog and % within SLA for a range of days, per "
        "network too: the figures of the reports page and GET /api/v1/reports/summary, as a "
        "table, CSV or JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Values are checked in handle(), so a bad one is a CommandError (exit 1) that says
        # what is wrong, like the selectors' refusals.
        parser.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="inclusive"
        )
        parser.add_argument("--handle", metavar="H", help="only tickets of this handle")
        parser.add_argument("--intent", metavar="I", help="only tickets with this intent")
        parser.add_argument("--agent", metavar="A", help="only tickets assigned to this user")
        parser.add_argument(
            "--network", metavar="N", help="only tickets on this network: x, mastodon or bluesky"
        )
        parser.add_argument(
            "--format", dest="fmt", default="table", metavar="table|csv|json", help="default: table"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["fmt"]
        if fmt not in REPORT_FORMATS:
            raise CommandError(f"--format: use one of {', '.join(REPORT_FORMATS)}, not {fmt!r}")
        try:
            filters = selectors.report_filters(
                date_from=_day(options["date_from"], option="--from"),
                date_to=_day(options["date_to"], option="--to"),
                handle=options["handle"],
                intent=options["intent"],
                agent=options["agent"],
                network=options["network"],
            )
        except DomainError as exc:
            # The selector names the field; here it is the option of the same name.
            raise CommandError(
                f"--{exc.field}: {exc.message}" if exc.field else exc.message
            ) from exc
        # The command line is trusted (it owns the database): no viewer to check.
        report = selectors.report_build(filters=filters)
        data = selectors.report_as_dict(report)
        render = {
            "table": formats.report_table,
            "csv": formats.report_csv,
            "json": formats.report_json,
        }[fmt]
        self.stdout.write(render(data), ending="")


def _day(value: str, *, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None
