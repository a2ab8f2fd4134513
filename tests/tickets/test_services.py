from __future__ import annotations

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import Conflict, DomainError, Forbidden
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def handle() -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


def test_ticket_next_hands_out_oldest_first_and_never_twice(
    handle: Handle, advocate: User, advocate2: User
) -> None:
    newer, older = tickets_from(
        handle, remote_post(author="b", minutes=30), remote_post(author="a", minutes=0)
    )[::-1]
    first = services.ticket_next(user=advocate)
    second = services.ticket_next(user=advocate2)
    assert first is not None and second is not None
    assert (first.pk, second.pk) == (older.pk, newer.pk)
    assert first.assignee == advocate and first.status == Ticket.Status.OPEN
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 2
    services.ticket_status_set(ticket=first, status="solved", by=advocate)
    assert services.ticket_next(user=advocate) is None


def test_ticket_next_skips_solved_and_pending(handle: Handle, advocate: User) -> None:
    tickets_from(handle, remote_post(author="a"), remote_post(author="b", minutes=1))
    Ticket.objects.filter(requester_username="a").update(status=Ticket.Status.PENDING)
    ticket = services.ticket_next(user=advocate)
    assert ticket is not None and ticket.requester_username == "b"


def test_light_agents_do_not_play(handle: Handle, light_agent: User) -> None:
    tickets_from(handle, remote_post())
    with pytest.raises(Forbidden):
        services.ticket_next(user=light_agent)


def test_unknown_or_unplayable_view_is_refused(advocate: User) -> None:
    with pytest.raises(DomainError, match="unknown view"):
        services.ticket_next(user=advocate, view="nope")
    with pytest.raises(DomainError, match="cannot be played"):
        services.ticket_next(user=advocate, view="solved")


def test_advocates_assign_only_to_themselves(
    handle: Handle, advocate: User, advocate2: User, lead: User
) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    with pytest.raises(Forbidden):
        services.ticket_assign(ticket=ticket, assignee=advocate2, by=advocate)
    services.ticket_assign(ticket=ticket, assignee=advocate, by=advocate)
    with pytest.raises(Conflict):
        services.ticket_assign(ticket=ticket, assignee=advocate2, by=advocate2)
    services.ticket_assign(ticket=ticket, assignee=advocate2, by=lead)
    ticket.refresh_from_db()
    assert ticket.assignee == advocate2


def test_status_changes_are_logged_and_solve_stamps_time(handle: Handle, advocate: User) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    ticket = services.ticket_status_set(ticket=ticket, status="solved", by=advocate)
    assert ticket.solved_at is not None
    event = ticket.events.get(kind=TicketEvent.Kind.STATUS_CHANGED)
    assert event.data == {"from": "new", "to": "solved"}
    with pytest.raises(DomainError):
        services.ticket_status_set(ticket=ticket, status="bogus", by=advocate)


def test_light_agents_add_notes_but_cannot_change_status(handle: Handle, light_agent: User) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    note = services.ticket_note_add(
        ticket=ticket, by=light_agent, text="customer is on self-managed"
    )
    assert note.kind == TicketEvent.Kind.NOTE
    with pytest.raises(Forbidden):
        services.ticket_status_set(ticket=ticket, status="solved", by=light_agent)
