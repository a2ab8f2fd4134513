"""The database itself refuses to change or remove audit rows (tickets.TicketEvent), whatever
the code path: raw SQL, the ORM, or deleting what the rows point at. Run on SQLite and, with
MENTIONDESK_DATABASE_URL=postgres://…, on PostgreSQL."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from mentiondesk.accounts.models import User
from mentiondesk.audit import triggers
from mentiondesk.tickets import services
from mentiondesk.tickets.models import TicketEvent
from tests.audit.conftest import Trail

pytestmark = pytest.mark.django_db

APPEND_ONLY = "audit rows are append-only"
EXPECTED_TRIGGERS = {
    "sqlite": ["audit_ticketevent_no_delete", "audit_ticketevent_no_update"],
    "postgresql": ["audit_ticketevent_no_truncate", "audit_ticketevent_no_update_delete"],
}


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def snapshot() -> list[tuple[object, ...]]:
    return list(
        TicketEvent.objects.order_by("id").values_list("id", "ticket_id", "kind", "actor_id")
    )


def test_the_triggers_are_installed_after_every_migration() -> None:
    # SQLite drops a table's triggers when a migration rebuilds the table: this fails then.
    assert (
        triggers.triggers_installed(connection=connection) == EXPECTED_TRIGGERS[connection.vendor]
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tickets_ticketevent SET message = 'rewritten'",
        "UPDATE tickets_ticketevent SET actor_id = NULL",
        "DELETE FROM tickets_ticketevent",
        "DELETE FROM tickets_ticketevent WHERE kind = 'note'",
    ],
)
def test_sql_updates_and_deletes_are_refused(trail: Trail, sql: str) -> None:
    before = snapshot()
    with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
        execute(sql)
    assert snapshot() == before
    assert not TicketEvent.objects.filter(message="rewritten").exists()


# Committed rows: PostgreSQL will not TRUNCATE a table with deferred checks pending.
@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_on_postgresql(trail: Trail) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (set MENTIONDESK_DATABASE_URL)")
    before = snapshot()
    with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
        execute("TRUNCATE tickets_ticketevent")
    with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
        execute("TRUNCATE tickets_ticket CASCADE")
    assert snapshot() == before


def test_orm_updates_and_deletes_are_refused(trail: Trail) -> None:
    before = snapshot()
    note = TicketEvent.objects.get(kind=TicketEvent.Kind.NOTE)
    attempts = [
        lambda: TicketEvent.objects.update(message="rewritten"),
        lambda: TicketEvent.objects.filter(pk=note.pk).update(data={"x": 1}),
        lambda: TicketEvent.objects.all().delete(),
        note.delete,
    ]

    def save_changed() -> None:
        note.message = "rewritten"
        note.save()

    for attempt in [*attempts, save_changed]:
        with pytest.raises(IntegrityError, match=APPEND_ONLY), transaction.atomic():
            attempt()
    assert snapshot() == before
    assert TicketEvent.objects.get(pk=note.pk).message != "rewritten"


def test_deleting_a_ticket_or_user_with_events_is_refused(
    trail: Trail, advocate: User, lead: User
) -> None:
    # The rows' foreign keys PROTECT: the ORM refuses before any SQL runs. (With CASCADE or
    # SET_NULL the ORM would try to delete or update the events and the triggers would
    # refuse with an IntegrityError instead.)
    before = snapshot()
    for victim in (trail.maya, advocate, lead):
        with pytest.raises(ProtectedError), transaction.atomic():
            victim.delete()
    assert snapshot() == before
    # Deactivating is how someone leaves the team; their events keep their name.
    theirs = TicketEvent.objects.filter(actor=advocate).count()
    advocate.is_active = False
    advocate.save()
    assert theirs and TicketEvent.objects.filter(actor__username="ana").count() == theirs


def test_inserting_events_still_works(trail: Trail, advocate: User) -> None:
    count = TicketEvent.objects.count()
    services.ticket_note_add(ticket=trail.omar, by=advocate, text="self-managed")
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket=trail.omar, kind=TicketEvent.Kind.NOTE, message=f"n{i}")
            for i in (1, 2)
        ]
    )
    assert TicketEvent.objects.count() == count + 3


@pytest.mark.django_db(transaction=True)
def test_flush_lifts_the_guard_for_itself_only(trail: Trail) -> None:
    # Django's test framework empties the database with `flush` after transactional tests.
    call_command("flush", interactive=False, verbosity=0)
    assert not TicketEvent.objects.exists()
    assert (
        triggers.triggers_installed(connection=connection) == EXPECTED_TRIGGERS[connection.vendor]
    )


def test_flush_refuses_to_empty_the_audit_log_outside_tests(
    trail: Trail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "TESTING", False)
    before = snapshot()
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_the_guard_is_lifted_only_inside_a_transaction() -> None:
    with pytest.raises(RuntimeError), triggers.triggers_lifted(connection=connection):
        pass  # pragma: no cover
