from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest
from ninja import Router

from mentiondesk.sla import selectors
from mentiondesk.tickets import selectors as ticket_selectors
from mentiondesk.tickets.models import Ticket

from .schemas import SlaClockOut

router = Router(tags=["sla"])


@router.get(
    "/tickets/{ticket_id}/sla",
    response=list[SlaClockOut],
    summary="A ticket's SLA clocks: met, breached, running or paused",
)
def ticket_sla_clocks(request: HttpRequest, ticket_id: int) -> list[dict[str, object]]:
    ticket = ticket_selectors.ticket_get(ticket_id=ticket_id)
    return [asdict(o) for o in selectors.sla_outcomes(Ticket.objects.filter(pk=ticket.pk))]
