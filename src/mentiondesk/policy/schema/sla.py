"""[sla]: response-time targets, business hours and holidays (owned by sla).

The seed answers from the desk "to track our response times vs. our internal SLA" but names no
figures, so without this section nothing is measured; the demo policy has an example. Clocks
themselves live in mentiondesk.sla."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mentiondesk.core.intents import INTENTS

from .checks import SLUG, PolicyError, _keys, _no_duplicates, _one_of, _required, _table

if TYPE_CHECKING:
    from . import Policy

SLA_KEYS: dict[str, type] = {
    "time_zone": str,
    "business_hours": dict,
    "holidays": list,
    "warn_before": str,
    "breach_channel": str,
    "target": list,
}
SLA_TARGET_KEYS: dict[str, type] = {
    "name": str,
    "handles": list,
    "intents": list,
    "priorities": list,
    "first_response": str,
    "next_response": str,
    "resolution": str,
    "business_hours": bool,
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A ticket's priority: "high" for availability reports and escalated tickets, else "normal"
# (mentiondesk.sla.rules.ticket_priority).
PRIORITIES = ("high", "normal")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


@dataclass(frozen=True)
class SlaTarget:
    """Targets in seconds (None: not measured) for the tickets this entry matches: all of
    its non-empty filters must match (handle usernames compare case-insensitively)."""

    name: str
    handles: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    business_hours: bool = True


@dataclass(frozen=True)
class SlaPolicy:
    """`week`: per weekday (Monday first) the business windows in minutes after midnight;
    None means around the clock. `targets`: first match wins."""

    time_zone: str = "UTC"
    week: tuple[tuple[tuple[int, int], ...], ...] | None = None
    holidays: tuple[date, ...] = ()
    warn_before: int = 30 * 60
    breach_channel: str = ""
    targets: tuple[SlaTarget, ...] = ()


def _sla(entry: Any, where: str, policy: Policy) -> SlaPolicy:
    entry = _table(entry, "sla", SLA_KEYS, where)
    time_zone = entry.get("time_zone", "UTC")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(
            f"{where}.time_zone: {time_zone!r} is not an IANA time zone (like Europe/Amsterdam)"
        ) from None
    week = None
    if "business_hours" in entry:
        week = _sla_week(entry["business_hours"], f"{where}.business_hours")
    holidays = []
    for index, value in enumerate(entry.get("holidays", []), start=1):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise PolicyError(
                f"{where}.holidays[{index}]: {value!r} is not a date (write 2026-12-25, unquoted)"
            )
        holidays.append(value)
    if holidays and week is None:
        raise PolicyError(f"{where}.holidays: holidays need [sla.business_hours]")
    warn_before = _sla_duration(entry.get("warn_before", "30m"), f"{where}.warn_before")
    channel = entry.get("breach_channel", "")
    if channel and policy.channel(channel) is None:
        names = ", ".join(sorted(c.name for c in policy.channels)) or "none"
        raise PolicyError(
            f"{where}.breach_channel: no [[channel]] named {channel!r}; channels: {names}"
        )
    handles = {h["username"].lower() for h in policy.handles}
    targets = []
    for index, target in enumerate(entry.get("target", []), start=1):
        if not isinstance(target, dict):
            raise PolicyError(f"{where}.target: use [[sla.target]] tables")
        targets.append(_sla_target(target, f"{where}.target[{index}]", handles))
    _no_duplicates(where, "target", [t.name for t in targets])
    return SlaPolicy(
        time_zone=time_zone,
        week=week,
        holidays=tuple(sorted(holidays)),
        warn_before=warn_before,
        breach_channel=channel,
        targets=tuple(targets),
    )


def _sla_target(entry: dict[str, Any], where: str, handles: set[str]) -> SlaTarget:
    _keys(entry, SLA_TARGET_KEYS, where)
    name = _required(entry, "name", where)
    if not SLUG.match(name):
        raise PolicyError(f"{where}.name: {name!r}: use lowercase letters, digits, - and _")
    for handle in entry.get("handles", []):
        if handles and str(handle).lower() not in handles:
            raise PolicyError(f"{where}.handles: no [[handle]] named {handle!r}")
    for intent in entry.get("intents", []):
        _one_of(where, "intents", intent, list(INTENTS))
    for priority in entry.get("priorities", []):
        _one_of(where, "priorities", priority, list(PRIORITIES))
    durations = {
        key: _sla_duration(entry[key], f"{where}.{key}")
        for key in ("first_response", "next_response", "resolution")
        if key in entry
    }
    if not durations:
        raise PolicyError(
            f"{where}: give at least one of first_response, next_response, resolution"
        )
    return SlaTarget(
        name=name,
        handles=tuple(str(h) for h in entry.get("handles", [])),
        intents=tuple(entry.get("intents", [])),
        priorities=tuple(entry.get("priorities", [])),
        business_hours=entry.get("business_hours", True),
        **durations,
    )


def _sla_duration(value: Any, where: str) -> int:
    match = DURATION.match(value) if isinstance(value, str) else None
    if not value or match is None:
        raise PolicyError(f'{where}: {value!r} is not a duration like "30m", "4h" or "1h30m"')
    seconds = int(match[1] or 0) * 3600 + int(match[2] or 0) * 60
    if seconds <= 0:
        raise PolicyError(f"{where}: {value!r}: a duration must be longer than zero")
    return seconds


def _sla_week(entry: dict[str, Any], where: str) -> tuple[tuple[tuple[int, int], ...], ...]:
    unknown = set(entry) - set(WEEKDAYS)
    if unknown:
        raise PolicyError(f"{where}: unknown day {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}")
    week = []
    for day in WEEKDAYS:
        value = entry.get(day, [])
        ranges = [value] if isinstance(value, str) else value
        if not isinstance(ranges, list):
            raise PolicyError(f'{where}.{day}: expected "09:00-17:00" or a list of them')
        windows: list[tuple[int, int]] = []
        for text in ranges:
            match = HOURS.match(text) if isinstance(text, str) else None
            if match is None:
                raise PolicyError(f'{where}.{day}: {text!r} is not a range like "09:00-17:00"')
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            begin, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or end <= begin:
                raise PolicyError(
                    f"{where}.{day}: {text!r}: use 00:00 to 24:00, the start before the end"
                )
            if windows and begin < windows[-1][1]:
                raise PolicyError(
                    f"{where}.{day}: {text!r} overlaps or precedes the previous range"
                )
            windows.append((begin, end))
        week.append(tuple(windows))
    if not any(week):
        raise PolicyError(f"{where}: no day has business hours; leave the table out for 24/7")
    return tuple(week)
