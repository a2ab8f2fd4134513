"""Times in the queue's rows, written in UTC without the `date` filter.

The queue draws four times per row. Django's `date` filter builds a DateFormat and walks
the format letter by letter for each, which made the times about a third of the queue
page's time (bench/RESULTS.md, "Scale"). These filters print the same text as
`date:"c"`, `date:"Y-m-d H:i"` and `date:"M j, H:i"` with the standard library's formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def utc_iso(value: datetime | None) -> str:
    """As `date:"c"`: 2026-11-25T08:27:00.123456+00:00."""
    return value.astimezone(UTC).isoformat() if value else ""


@register.filter
def utc_minute(value: datetime | None) -> str:
    """As `date:"Y-m-d H:i"`: 2026-11-25 08:27."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}" if value else ""


@register.filter
def utc_short(value: datetime | None) -> str:
    """As `date:"M j, H:i"`: Nov 5, 08:27 (English month names, whatever the locale)."""
    if not value:
        return ""
    value = value.astimezone(UTC)
    return f"{MONTHS[value.month - 1]} {value.day}, {value:%H:%M}"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
