"""Full-text index over TicketDocument, in each engine's own way.

SQLite: an external-content FTS5 table with triggers that keep it in step. A later migration
that makes Django rebuild tickets_ticketdocument on SQLite drops these triggers and must
install them again.
PostgreSQL: a generated tsvector column with a GIN index."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE tickets_ticketdocument_fts USING fts5("
    "body, content='tickets_ticketdocument', content_rowid='ticket_id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tickets_ticketdocument_fts_ai AFTER INSERT ON tickets_ticketdocument BEGIN "
    "INSERT INTO tickets_ticketdocument_fts(rowid, body) VALUES (new.ticket_id, new.body); END",
    "CREATE TRIGGER tickets_ticketdocument_fts_ad AFTER DELETE ON tickets_ticketdocument BEGIN "
    "INSERT INTO tickets_ticketdocument_fts(tickets_ticketdocument_fts, rowid, body) "
    "VALUES ('delete', old.ticket_id, old.body); END",
    "CREATE TRIGGER tickets_ticketdocument_fts_au AFTER UPDATE ON tickets_ticketdocument BEGIN "
    "INSERT INTO tickets_ticketdocument_fts(tickets_ticketdocument_fts, rowid, body) "
    "VALUES ('delete', old.ticket_id, old.body); "
    "INSERT INTO tickets_ticketdocument_fts(rowid, body) VALUES (new.ticket_id, new.body); END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS tickets_ticketdocument_fts_ai",
    "DROP TRIGGER IF EXISTS tickets_ticketdocument_fts_ad",
    "DROP TRIGGER IF EXISTS tickets_ticketdocument_fts_au",
    "DROP TABLE IF EXISTS tickets_ticketdocument_fts",
]
POSTGRES = [
    "ALTER TABLE tickets_ticketdocument ADD COLUMN search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', body)) STORED",
    "CREATE INDEX tickets_ticketdocument_search ON tickets_ticketdocument USING GIN (search)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS tickets_ticketdocument_search",
    "ALTER TABLE tickets_ticketdocument DROP COLUMN IF EXISTS search",
]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no full-text index for the {vendor} database")
        for sql in statements[vendor]:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_ticketdocument")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
