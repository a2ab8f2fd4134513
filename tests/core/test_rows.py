"""core.rows writes what the ORM writes: the same stored values as bulk_create and save(),
ids on new instances, foreign keys to objects saved after they were assigned, conflicts
skipped. Compared column by column through the ORM, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import models

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core import rows
from mentiondesk.tickets.models import Ticket, TicketEvent

AT = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)
SKIP = {"id", "remote_id", "conversation_id", "ticket", "updated_at", "stored_at", "created_at"}


def _stored(obj: models.Model) -> dict[str, Any]:
    """Every column of `obj` as read back from the database, but ids and insert times."""
    fresh = type(obj)._base_manager.get(pk=obj.pk)
    return {
        f.attname: getattr(fresh, f.attname)
        for f in type(obj)._meta.concrete_fields
        if f.name not in SKIP
    }


def _ticket(handle: Handle, n: int) -> Ticket:
    return Ticket(
        handle=handle,
        conversation_id=f"c{n}",
        requester_remote_id="42",
        requester_username="ana",
        subject="«the site is down» — 50% of pushes fail",
        status=Ticket.Status.NEW,
        created_at=AT,
        last_inbound_at=AT + timedelta(minutes=n),
    )


def _post(handle: Handle, ticket: Ticket | None, remote_id: str) -> Post:
    return Post(
        remote_id=remote_id,
        handle=handle,
        ticket=ticket,
        direction=Post.Direction.INBOUND,
        author_remote_id="42",
        author_username="ana",
        text="@Driftwood it's down «again» %s %%",
        created_at=AT,
        conversation_id="c1",
        mentions=["Driftwood"],
        urls=[{"url": "https://t.co/x", "expanded_url": "https://example.com/?a=1&b=ü"}],
        raw={"data": "same", "nested": {"n": 1, "none": None, "list": [1.5, True]}},
    )


@pytest.mark.django_db
def test_rows_insert_stores_what_bulk_create_stores() -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    actor = User.objects.create(username="ana", role=User.Role.ADVOCATE)
    by_orm, by_rows = _ticket(handle, 1), _ticket(handle, 2)
    Ticket.objects.bulk_create([by_orm])
    rows.rows_insert([by_rows])  # no pk yet: ids come back
    assert by_rows.pk is not None and not by_rows._state.adding
    assert {**_stored(by_orm), "last_inbound_at": None} == {
        **_stored(by_rows),
        "last_inbound_at": None,
    }
    assert Ticket.objects.get(pk=by_rows.pk).last_inbound_at == AT + timedelta(minutes=2)
    assert Ticket.objects.get(pk=by_rows.pk).updated_at is not None  # auto_now stamped

    # Posts and events pointing at tickets saved after they were assigned.
    orm_ticket, rows_ticket = _ticket(handle, 3), _ticket(handle, 4)
    orm_post, rows_post = _post(handle, orm_ticket, "1"), _post(handle, rows_ticket, "2")
    orm_event = TicketEvent(ticket=orm_ticket, kind="created", actor=actor, data={"a": [1]})
    rows_event = TicketEvent(ticket=rows_ticket, kind="created", actor=actor, data={"a": [1]})
    Ticket.objects.bulk_create([orm_ticket])
    rows.rows_insert([rows_ticket])
    Post.objects.bulk_create([orm_post])
    rows.rows_insert([rows_post], ignore_conflicts=True)
    TicketEvent.objects.bulk_create([orm_event])
    rows.rows_insert([rows_event])
    stored_post = Post.objects.get(remote_id="2")
    assert stored_post.ticket_id == rows_ticket.pk
    assert _stored(stored_post) == _stored(Post.objects.get(remote_id="1"))
    assert stored_post.stored_at is not None
    assert TicketEvent.objects.get(pk=rows_event.pk).ticket_id == rows_ticket.pk
    assert _stored(rows_event) == _stored(orm_event)


@pytest.mark.django_db
def test_rows_insert_skips_conflicts_and_refuses_unsaved_relations() -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    rows.rows_insert([_post(handle, None, "7")], ignore_conflicts=True)
    again = _post(handle, None, "7")
    again.text = "changed"
    rows.rows_insert([again, _post(handle, None, "8")], ignore_conflicts=True)
    assert sorted(Post.objects.values_list("remote_id", flat=True)) == ["7", "8"]
    assert Post.objects.get(remote_id="7").text != "changed"

    with pytest.raises(ValueError, match="ticket"):
        rows.rows_insert([_post(handle, _ticket(handle, 9), "9")], ignore_conflicts=True)


@pytest.mark.django_db
def test_rows_update_writes_the_fields_and_stamps_auto_now() -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    tickets = [_ticket(handle, n) for n in range(3)]
    rows.rows_insert(tickets)
    before = {t.pk: Ticket.objects.get(pk=t.pk).updated_at for t in tickets}
    for ticket in tickets[:2]:
        ticket.status, ticket.solved_at = Ticket.Status.SOLVED, AT + timedelta(hours=1)
        ticket.subject = "not written: not in fields"
    rows.rows_update(tickets[:2], fields=["status", "solved_at", "updated_at"])
    for ticket in tickets[:2]:
        stored = Ticket.objects.get(pk=ticket.pk)
        assert (stored.status, stored.solved_at) == ("solved", AT + timedelta(hours=1))
        assert stored.subject.startswith("«the site")
        assert stored.updated_at > before[ticket.pk]
    assert Ticket.objects.get(pk=tickets[2].pk).status == "new"


@pytest.mark.django_db
def test_rows_insert_keeps_related_objects_cached(django_assert_num_queries: Any) -> None:
    handle = Handle.objects.create(username="Driftwood", remote_id="100")
    ticket = _ticket(handle, 1)
    post = _post(handle, ticket, "5")
    rows.rows_insert([ticket])
    rows.rows_insert([post], ignore_conflicts=True)
    with django_assert_num_queries(0):
        assert post.ticket is ticket
        assert post.ticket_id == ticket.pk
