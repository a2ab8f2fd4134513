"""Queue rows' SLA column: thin tags over sla.selectors.ticket_sla_badge."""

from __future__ import annotations

from django import template

from mentiondesk.sla import selectors
from mentiondesk.tickets.models import Ticket

register = template.Library()


@register.inclusion_tag("sla/time-left.html")
def sla_time_left(ticket: Ticket) -> dict[str, object]:
    """The time-left cell of a queue row (the row's queryset selects `sla`)."""
    return {"badge": selectors.ticket_sla_badge(ticket=ticket)}


@register.simple_tag
def sla_row_class(ticket: Ticket) -> str:
    """ " is-sla-warning" or " is-sla-overdue" for a row about to breach or past it."""
    state = selectors.ticket_sla_badge(ticket=ticket).state
    return f" is-sla-{state}" if state in ("warning", "overdue") else ""


@register.filter
def sla_duration(seconds: int | None) -> str:
    """1 h 05 m style, without the sign: "45m", "3h 05m", "2d 4h"."""
    if seconds is None:
        return ""
    minutes = abs(seconds) // 60
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"
