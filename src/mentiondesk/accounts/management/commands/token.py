from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mentiondesk.accounts import selectors, services
from mentiondesk.accounts.models import User
from mentiondesk.core.management.base import domain_errors_as_command_errors


class Command(BaseCommand):
    help = (
        "API tokens: `token create NAME` prints a new token for user NAME on its last line; "
        "`token list NAME` shows a user's tokens; `token revoke PREFIX` revokes one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("name", help="the user's username")
        create.add_argument("--label", default="", help="what the token is for")
        listing = sub.add_parser("list", help="a user's tokens: prefix, label, dates")
        listing.add_argument("name", help="the user's username")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix", help="the token's first characters, as `list` shows them")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "revoke":
            token = services.token_revoke(prefix=options["prefix"])
            self.stdout.write(f"revoked {token.prefix}… of {token.user.username}")
            return
        user = User.objects.filter(username__iexact=options["name"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {options['name']!r}")
        if options["action"] == "list":
            for token in selectors.token_list(user=user):
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.prefix}…  {state:<18} created {token.created_at:%Y-%m-%d}  "
                    f"last used {used}  {token.name}"
                )
            return
        _, raw = services.token_create(user=user, name=options["label"])
        self.stdout.write(f"API token for {user.username} (shown once; store it now):")
        self.stdout.write(raw)
