from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentiondesk.accounts import services
from mentiondesk.accounts.models import User
from mentiondesk.core.management.base import domain_errors_as_command_errors


class Command(BaseCommand):
    help = "Manage users: `user add NAME --role ROLE`, `user list`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a user")
        add.add_argument("name")
        add.add_argument("--role", required=True, choices=User.Role.values)
        add.add_argument(
            "--password-env",
            help="name of an environment variable holding the web login password",
        )
        sub.add_parser("list", help="list users and roles")

    @domain_errors_as_command_errors
    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for user in User.objects.order_by("username"):
                self.stdout.write(f"{user.username}\t{user.role}")
            return
        password = os.environ.get(options["password_env"], "") if options["password_env"] else None
        user = services.user_create(
            username=options["name"], role=options["role"], password=password or None
        )
        self.stdout.write(f"created {user.username} ({user.role})")
