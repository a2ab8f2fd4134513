"""The queue rows' SLA column (desk/tickets/rows.py draws it with sla.selectors.sla_badge)."""

from __future__ import annotations

from django import template

register = template.Library()


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
