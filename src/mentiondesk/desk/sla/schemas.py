from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema

from mentiondesk.sla import selectors
from mentiondesk.tickets.models import Ticket


class TicketSlaOut(Schema):
    """A ticket's SLA right now (see sla.selectors.SlaBadge)."""

    state: Literal["none", "done", "ok", "warning", "overdue", "paused"]
    metric: str | None  # first_response | next_response | resolution: the clock due next
    due_at: datetime | None
    # Seconds until `due_at` (negative when overdue); while paused, counted seconds left.
    time_left_seconds: int | None
    breached: bool  # any clock of the ticket ever passed its target


class SlaClockOut(Schema):
    metric: Literal["first_response", "next_response", "resolution"]
    started_at: datetime
    stopped_at: datetime | None
    due_at: datetime | None
    target_seconds: int
    elapsed_seconds: float
    outcome: Literal["met", "breached", "running", "paused"]


def ticket_sla_out(ticket: Ticket) -> dict[str, object]:
    badge = selectors.ticket_sla_badge(ticket=ticket)
    return {
        "state": badge.state,
        "metric": badge.metric or None,
        "due_at": badge.due_at,
        "time_left_seconds": badge.seconds_left,
        "breached": badge.breached,
    }
