from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.actions import policy as policy_actions
from mentiondesk.core.management.base import domain_errors_as_command_errors
from mentiondesk.policy import services


class Command(BaseCommand):
    help = "The policy file: `policy apply FILE.toml` (all or nothing), `policy show`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        apply = sub.add_parser("apply", help="apply a policy file")
        apply.add_argument("file")
        sub.add_parser("show", help="print the policy in force")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            self.stdout.write(services.policy_show(), ending="")
            return
        version = policy_actions.policy_apply(path=options["file"])
        self.stdout.write(f"applied {version.source} (sha256 {version.sha256[:12]})")
