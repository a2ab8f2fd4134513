"""Django's `flush`, aware of the append-only audit log.

Django's test framework empties the database with `flush` after every transactional test;
the audit triggers would refuse that (SQLite: DELETE, PostgreSQL: TRUNCATE). In tests the
triggers are lifted for the flush only, inside its transaction. Anywhere else, flush refuses
while audit rows exist: emptying the audit log is not something the desk does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import connections, transaction

from mentiondesk.audit import triggers
from mentiondesk.tickets.models import TicketEvent


class Command(flush.Command):
    help = (
        f"{flush.Command.help} Refuses while the append-only audit log has rows, except in "
        "the test suite."
    )

    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if TicketEvent._meta.db_table not in connection.introspection.table_names():
            super().handle(**options)  # not migrated yet: nothing to guard
            return
        events = TicketEvent.objects.using(database).count()
        if events and not settings.TESTING:
            raise CommandError(
                f"the audit log is append-only and holds {events} events: flush would delete "
                "them. To start over, create a new database instead."
            )
        if options["interactive"]:
            # Ask before the transaction: on SQLite it holds the write lock.
            answer = input(
                f"This IRREVERSIBLY DESTROYS all data in the {connection.settings_dict['NAME']!r} "
                "database. Type 'yes' to continue, or 'no' to cancel: "
            )
            if answer != "yes":
                self.stdout.write("Flush cancelled.")
                return
        with transaction.atomic(using=database), triggers.triggers_lifted(connection=connection):
            super().handle(**{**options, "interactive": False})
