"""The audit log is append-only: the database itself refuses to change or remove a ticket event.

SQLite: BEFORE UPDATE / BEFORE DELETE triggers that abort the statement.
PostgreSQL: one trigger function, fired for each row on UPDATE and DELETE and once per
statement on TRUNCATE. It raises SQLSTATE 23000, so both engines surface as IntegrityError.

Written by hand. SQLite drops a table's triggers with the table: a later migration that makes
Django rebuild tickets_ticketevent on SQLite must install these triggers again
(tests/audit/test_append_only.py fails when they are missing).
"""

from django.db import migrations

MESSAGE = "audit rows are append-only"

SQLITE_TRIGGERS = ("audit_ticketevent_no_update", "audit_ticketevent_no_delete")
PG_FUNCTION = "audit_ticketevent_append_only"
PG_TRIGGERS = ("audit_ticketevent_no_update_delete", "audit_ticketevent_no_truncate")


def _table(apps, schema_editor):
    model = apps.get_model("tickets", "TicketEvent")
    return schema_editor.quote_name(model._meta.db_table)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    table = _table(apps, schema_editor)
    if vendor == "sqlite":
        for name, action in zip(SQLITE_TRIGGERS, ("UPDATE", "DELETE"), strict=True):
            schema_editor.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    elif vendor == "postgresql":
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}'
                    USING ERRCODE = 'integrity_constraint_violation',
                          DETAIL = TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
            END;
            $$
            """
        )
        schema_editor.execute(
            f"CREATE TRIGGER {PG_TRIGGERS[0]} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {PG_TRIGGERS[1]} BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        )
    else:
        raise RuntimeError(
            f"the append-only audit log supports SQLite and PostgreSQL, not {vendor}"
        )


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    table = _table(apps, schema_editor)
    if vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif vendor == "postgresql":
        for name in PG_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_ticket_escalated_at_ticket_intent_and_more"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
