"""A small timeline with answers worked out by hand, on Europe/Berlin across the end of summer
time (2026-10-25 03:00 CEST -> 02:00 CET, 01:00 UTC).

Tickets come from real ingest; first responses are our own posts ingested from the handle's
timeline (a reply from the X app); assignment, intent and status go through the services.

    ticket created UTC Berlin             handle intent           agent wait s status
    t1     10-24 21:30 10-24 23:30 CEST   main   availability     ana   600    solved
    t2     10-24 22:30 10-25 00:30 CEST   main   bug_report       ana   1800   solved
    t3     10-25 00:30 10-25 02:30 CEST   status availability     ben   7200   pending
    t4     10-25 01:30 10-25 02:30 CET    main   praise           ben   300    solved
    t5     10-25 23:30 10-26 00:30 CET    main   support_question -     -      new
    t6     10-25 22:59 10-25 23:59 CET    status availability     ana   90000  solved
    t7     10-23 21:59 10-23 23:59 CEST   main   other            ana   -      new
    t8     10-26 23:00 10-27 00:00 CET    main   other            -     -      pending
    t9     now - 2 h   (not in the range) main   other            -     -      new

The report runs 2026-10-24 to 2026-10-26: t7 ends a minute before it starts, t8 starts at the
first instant after it. On UTC days t2 would fall on the 24th; on Berlin's it is the 25th."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import LazySettings as Settings
from django.conf import settings

from mentiondesk.accounts.models import User
from mentiondesk.channels.models import Handle
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket
from tests.factories import BASE_TIME, remote_post, tickets_from

FROM, TO = date(2026, 10, 24), date(2026, 10, 26)
ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Timeline:
    tickets: dict[str, Ticket]

    def __getitem__(self, name: str) -> Ticket:
        return Ticket.objects.get(pk=self.tickets[name].pk)


def minutes_at(when: datetime) -> float:
    """`remote_post`'s offset for an absolute time."""
    return (when - BASE_TIME).total_seconds() / 60


def utc(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def report_zone(settings: Settings) -> str:
    settings.REPORTS_TIME_ZONE = ZONE
    return ZONE


@pytest.fixture
def handles(db: None) -> tuple[Handle, Handle]:
    return (
        Handle.objects.create(username="Driftwood", remote_id="100", role="main"),
        Handle.objects.create(username="DriftwoodStatus", remote_id="200", role="status"),
    )


@pytest.fixture
def timeline(
    report_zone: str,
    handles: tuple[Handle, Handle],
    advocate: User,
    advocate2: User,
    lead: User,
) -> Timeline:
    main, status = handles
    ana, ben = advocate, advocate2
    plan = [
        # name, created, handle, intent, agent, wait (s), status
        ("t1", utc(10, 24, 21, 30), main, "availability", ana, 600, "solved"),
        ("t2", utc(10, 24, 22, 30), main, "bug_report", ana, 1800, "solved"),
        ("t3", utc(10, 25, 0, 30), status, "availability", ben, 7200, "pending"),
        ("t4", utc(10, 25, 1, 30), main, "praise", ben, 300, "solved"),
        ("t5", utc(10, 25, 23, 30), main, "support_question", None, None, None),
        ("t6", utc(10, 25, 22, 59), status, "availability", ana, 90000, "solved"),
        ("t7", utc(10, 23, 21, 59), main, "other", ana, None, None),
        ("t8", utc(10, 26, 23, 0), main, "other", None, None, "pending"),
        ("t9", datetime.now(UTC) - timedelta(hours=2), main, "other", None, None, None),
    ]
    tickets: dict[str, Ticket] = {}
    for n, (name, created, handle, intent, agent, wait, status_after) in enumerate(plan):
        mention = remote_post(
            author=f"requester{n}",
            text=f"@{handle.username} question {n}",
            minutes=minutes_at(created),
        )
        (ticket,) = tickets_from(handle, mention)
        if wait is not None:
            # Our answer, sent from the X app and read back from the handle's own timeline.
            tickets_from(
                handle,
                remote_post(
                    author=handle.username,
                    author_id=handle.remote_id,
                    text=f"@requester{n} here to help",
                    conversation_id=mention.conversation_id,
                    in_reply_to_id=mention.remote_id,
                    minutes=minutes_at(created + timedelta(seconds=wait)),
                    mentions=(f"requester{n}",),
                ),
            )
        services.ticket_intent_set(ticket=ticket, intent=intent, by=lead)
        if agent is not None:
            services.ticket_assign(ticket=ticket, assignee=agent, by=agent)
        if status_after is not None:
            services.ticket_status_set(ticket=ticket, status=status_after, by=lead)
        tickets[name] = ticket
    assert settings.REPORTS_TIME_ZONE == ZONE
    return Timeline(tickets)


def hours(*counts: tuple[int, int]) -> list[dict[str, int]]:
    """24 hourly rows, zero but for `counts` ((hour, tickets), ...)."""
    given = dict(counts)
    return [{"hour": h, "tickets": given.get(h, 0)} for h in range(24)]


def intents(**counts: int) -> list[dict[str, object]]:
    labels = [
        ("availability", "Availability"),
        ("spam_report", "Spam report"),
        ("bug_report", "Bug report"),
        ("feature_request", "Feature request"),
        ("support_question", "Support question"),
        ("praise", "Praise"),
        ("other", "Other"),
        ("", "Not triaged"),
    ]
    return [{"intent": v, "label": lab, "tickets": counts.get(v, 0)} for v, lab in labels]


def times(key: str | None, label: str, tickets: int, answered: int, median, p90):  # type: ignore[no-untyped-def]
    return {
        "key": key,
        "label": label,
        "tickets": tickets,
        "answered": answered,
        "median_seconds": median,
        "p90_seconds": p90,
    }


def buckets(keys: list[tuple[str, str]], counts: dict[str, int]) -> list[dict[str, object]]:
    return [{"key": k, "label": lab, "tickets": counts.get(k, 0)} for k, lab in keys]


WAIT_BUCKETS = [
    ("under_15m", "under 15 min"),
    ("15m_to_1h", "15-60 min"),
    ("1h_to_4h", "1-4 h"),
    ("4h_to_24h", "4-24 h"),
    ("24h_or_more", "24 h or more"),
]
AGE_BUCKETS = [
    ("under_1h", "under 1 h"),
    ("1h_to_4h", "1-4 h"),
    ("4h_to_24h", "4-24 h"),
    ("1d_to_3d", "1-3 days"),
    ("3d_to_7d", "3-7 days"),
    ("7d_or_more", "7 days or more"),
]

# The whole report for 2026-10-24..26 on Berlin's clock, worked out from the table above.
# Waits in range, sorted: 300 (t4), 600 (t1), 1800 (t2), 7200 (t3), 90000 (t6); n = 5, so the
# nearest-rank median is rank ceil(0.5 * 5) = 3 -> 1800 s and p90 rank ceil(0.9 * 5) = 5 ->
# 90000 s. @Driftwood: 300, 600, 1800 -> ranks 2 and 3; @DriftwoodStatus: 7200, 90000 -> ranks
# 1 and 2. ana: 600, 1800, 90000 -> ranks 2 and 3; ben: 300, 7200 -> ranks 1 and 2.
# Backlog (new or open now, any date): t5, t7 (about a month old) and t9 (2 hours).
EXPECTED_UNFILTERED = {
    "filters": {
        "from": "2026-10-24",
        "to": "2026-10-26",
        "time_zone": ZONE,
        "handle": None,
        "intent": None,
        "agent": None,
    },
    "volume": {
        "tickets": 6,
        "by_day": [
            {"date": "2026-10-24", "tickets": 1},
            {"date": "2026-10-25", "tickets": 4},
            {"date": "2026-10-26", "tickets": 1},
        ],
        "by_hour": hours((0, 2), (2, 2), (23, 2)),
        "by_intent": intents(availability=3, bug_report=1, praise=1, support_question=1),
    },
    "first_response": {
        **times(None, "All tickets", 6, 5, 1800.0, 90000.0),
        "distribution": buckets(
            WAIT_BUCKETS, {"under_15m": 2, "15m_to_1h": 1, "1h_to_4h": 1, "24h_or_more": 1}
        ),
        "by_handle": [
            times("Driftwood", "@Driftwood", 4, 3, 600.0, 1800.0),
            times("DriftwoodStatus", "@DriftwoodStatus", 2, 2, 7200.0, 90000.0),
        ],
        "by_agent": [
            times("ana", "ana", 3, 3, 1800.0, 90000.0),
            times("ben", "ben", 2, 2, 300.0, 7200.0),
            times(None, "Unassigned", 1, 0, None, None),
        ],
    },
    "backlog": {
        "tickets": 3,
        "by_age": buckets(AGE_BUCKETS, {"1h_to_4h": 1, "7d_or_more": 2}),
    },
}


def without_clock(report: dict[str, object]) -> dict[str, object]:
    """`report` without the two backlog figures that depend on when it ran."""
    backlog = dict(report["backlog"])  # type: ignore[call-overload]
    backlog.pop("as_of")
    backlog.pop("oldest_seconds")
    return {**report, "backlog": backlog}


def oldest_seconds(report: dict[str, object], oldest: Ticket) -> float:
    """What `backlog.oldest_seconds` must be: as_of - the oldest waiting ticket's creation."""
    as_of = datetime.fromisoformat(report["backlog"]["as_of"])  # type: ignore[index]
    return (as_of - oldest.created_at).total_seconds()
