"""Ticket status through `actions.tickets.ticket_status_set`: logged, solving stamps the time,
light agents refused."""

from __future__ import annotations

import pytest

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.tickets import services
from mentiondesk.tickets.models import TicketEvent
from tests.factories import remote_post, tickets_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def handle() -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


def test_status_changes_are_logged_and_solve_stamps_time(handle: Handle, advocate: User) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    ticket = ticket_actions.ticket_status_set(ticket=ticket, status="solved", by=advocate)
    assert ticket.solved_at is not None
    event = ticket.events.get(kind=TicketEvent.Kind.STATUS_CHANGED)
    assert event.data == {"from": "new", "to": "solved"}
    with pytest.raises(DomainError):
        ticket_actions.ticket_status_set(ticket=ticket, status="bogus", by=advocate)


def test_light_agents_add_notes_but_cannot_change_status(handle: Handle, light_agent: User) -> None:
    (ticket,) = tickets_from(handle, remote_post())
    note = services.ticket_note_add(
        ticket=ticket, by=light_agent, text="customer is on self-managed"
    )
    assert note.kind == TicketEvent.Kind.NOTE
    with pytest.raises(Forbidden):
        ticket_actions.ticket_status_set(ticket=ticket, status="solved", by=light_agent)
