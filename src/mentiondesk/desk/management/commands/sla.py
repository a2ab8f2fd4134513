from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from mentiondesk.actions import sla as sla_actions
from mentiondesk.core.management.base import domain_errors_as_command_errors
from mentiondesk.sla import services


class Command(BaseCommand):
    help = (
        "SLA clocks: `sla refresh` recomputes open tickets' clocks (`--all`: every ticket, "
        "e.g. after importing history); `sla notify` announces new breaches once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="recompute stored SLA clocks")
        refresh.add_argument(
            "--all", action="store_true", help="every ticket, solved and closed ones too"
        )
        sub.add_parser("notify", help="post new breaches to the policy's breach channel")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "notify":
            self.stdout.write(f"{sla_actions.sla_breaches_notify()} new breaches")
            return
        with transaction.atomic():
            count = services.tickets_sla_refresh_all(active_only=not options["all"])
        self.stdout.write(f"refreshed {count} tickets")
