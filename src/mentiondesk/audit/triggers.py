"""The database triggers that make the audit log append-only (installed by migration
audit 0001): what is installed, and lifting them for `flush` only.

Lifting happens inside the caller's transaction, so other connections never see the table
unguarded and a failure puts the triggers back with the rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

from mentiondesk.tickets.models import TicketEvent

# The names the migration gives them; a trigger is ours when its name starts with this.
PREFIX = "audit_ticketevent_"


def triggers_installed(*, connection: BaseDatabaseWrapper) -> list[str]:
    """Names of the append-only triggers on the audit table, sorted. Read-only."""
    table = TicketEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [table],
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [connection.ops.quote_name(table)],
            )
        return sorted(name for (name,) in cursor.fetchall() if name.startswith(PREFIX))


@contextmanager
def triggers_lifted(*, connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Inside the block the audit table accepts UPDATE, DELETE and TRUNCATE.

    Must run inside a transaction (raises RuntimeError otherwise). SQLite cannot disable a
    trigger: it is dropped and created again from its own stored SQL. PostgreSQL disables
    and re-enables it (needs the table's owner, as migrations do). Only `flush` uses this."""
    if not connection.in_atomic_block:
        raise RuntimeError("lift the audit triggers only inside a transaction")
    table = connection.ops.quote_name(TicketEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TicketEvent._meta.db_table],
            )
            saved = [(name, sql) for name, sql in cursor.fetchall() if name.startswith(PREFIX)]
            for name, _ in saved:
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
        else:
            saved = [(name, "") for name in triggers_installed(connection=connection)]
            for name, _ in saved:
                cursor.execute(
                    f"ALTER TABLE {table} DISABLE TRIGGER {connection.ops.quote_name(name)}"
                )
    yield
    with connection.cursor() as cursor:
        for name, sql in saved:
            if connection.vendor == "sqlite":
                cursor.execute(sql)
            else:
                cursor.execute(
                    f"ALTER TABLE {table} ENABLE TRIGGER {connection.ops.quote_name(name)}"
                )
