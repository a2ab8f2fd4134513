from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.accounts import services
from mentiondesk.accounts.models import User
from mentiondesk.core.management.base import domain_errors_as_command_errors


class Command(BaseCommand):
    help = "API tokens: `token create NAME` prints a new token for user NAME on its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("name", help="the user's username")
        create.add_argument("--label", default="", help="what the token is for")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username__iexact=options["name"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {options['name']!r}")
        _, raw = services.token_create(user=user, name=options["label"])
        self.stdout.write(f"API token for {user.username} (shown once; store it now):")
        self.stdout.write(raw)
