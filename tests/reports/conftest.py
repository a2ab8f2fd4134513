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
first instant after it. On UTC days t2 would fall on the 24th; on Berlin's it is the 25th.
The handles have no SLA targets, so no clocks: `sla_timeline` below is the one for % within
SLA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import LazySettings as Settings
from django.conf import settings

from mentiondesk.accounts.models import User
from mentiondesk.actions import tickets as ticket_actions
from mentiondesk.channels.models import Handle
from mentiondesk.core.intents import INTENTS, Intent
from mentiondesk.tickets import services
from mentiondesk.tickets.models import Ticket
from mentiondesk.triage.model import model_load
from tests.factories import BASE_TIME, remote_post, tickets_from
from tests.sla.conftest import carol_says, clock, handle, we_say_from_the_x_app  # noqa: F401

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
    for n, (name, created, owner, intent, agent, wait, status_after) in enumerate(plan):
        mention = remote_post(
            author=f"requester{n}",
            text=f"@{owner.username} question {n}",
            minutes=minutes_at(created),
        )
        (ticket,) = tickets_from(owner, mention)
        if wait is not None:
            # Our answer, sent from the X app and read back from the handle's own timeline.
            tickets_from(
                owner,
                remote_post(
                    author=owner.username,
                    author_id=owner.remote_id,
                    text=f"@requester{n} here to help",
                    conversation_id=mention.conversation_id,
                    in_reply_to_id=mention.remote_id,
                    minutes=minutes_at(created + timedelta(seconds=wait)),
                    mentions=(f"requester{n}",),
                ),
            )
        ticket_actions.ticket_intent_set(ticket=ticket, intent=intent, by=lead)
        if agent is not None:
            services.ticket_assign(ticket=ticket, assignee=agent, by=agent)
        if status_after is not None:
            ticket_actions.ticket_status_set(ticket=ticket, status=status_after, by=lead)
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


def sla_totals(**decided: tuple[int, int, float]) -> dict[str, dict[str, object]]:
    """% within SLA per metric from {metric: (met, breached, percent)}; others undecided."""
    return {
        metric: dict(
            zip(("met", "breached", "percent"), decided.get(metric, (0, 0, None)), strict=True)
        )
        for metric in ("first_response", "next_response", "resolution")
    }


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
        "network": None,
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
            {**times("Driftwood", "@Driftwood", 4, 3, 600.0, 1800.0), "network": "x"},
            {**times("DriftwoodStatus", "@DriftwoodStatus", 2, 2, 7200.0, 90000.0), "network": "x"},
        ],
        "by_agent": [
            times("ana", "ana", 3, 3, 1800.0, 90000.0),
            times("ben", "ben", 2, 2, 300.0, 7200.0),
            times(None, "Unassigned", 1, 0, None, None),
        ],
    },
    # Every network listed; all of these tickets are on X. No SLA targets: nothing decided.
    "by_network": [
        {**times("x", "X", 6, 5, 1800.0, 90000.0), "sla": sla_totals()},
        {**times("mastodon", "Mastodon", 0, 0, None, None), "sla": sla_totals()},
        {**times("bluesky", "Bluesky", 0, 0, None, None), "sla": sla_totals()},
    ],
    "backlog": {
        "tickets": 3,
        "by_age": buckets(AGE_BUCKETS, {"1h_to_4h": 1, "7d_or_more": 2}),
    },
    # No SLA targets, no clocks: every day listed, nothing decided.
    "sla": {
        **{
            metric: [
                {"date": day, "met": 0, "breached": 0, "percent": None}
                for day in ("2026-10-24", "2026-10-25", "2026-10-26")
            ]
            for metric in ("first_response", "next_response", "resolution")
        },
        "totals": sla_totals(),
    },
    # Nobody corrected triage: the live model, nothing counted (tests/triage/test_accuracy.py).
    "triage_accuracy": [
        {
            "model": model_load("intent").version,
            "live": True,
            "corrected": 0,
            "right": 0,
            "intents": [
                {
                    "intent": intent,
                    "label": str(Intent(intent).label),
                    "labelled": 0,
                    "labelled_right": 0,
                    "precision": None,
                    "actual": 0,
                    "found": 0,
                    "recall": None,
                }
                for intent in INTENTS
            ],
        }
    ],
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


# % within SLA: the SLA tests' policy (tests/sla/conftest.py: first response 30 min, next
# response 45 min, resolution 2 h, around the clock), posts through the real ingest, status
# through the services. On Berlin's clock (UTC+2 in June); the report runs 06-01 to 06-03.
#
#   ticket first post UTC (Berlin)      first response     next response        resolution
#   c0     05-31 20:00 (05-31 22:00)    20:05 met          06-01 07:00 -> 08:00 not solved
#                                                          60 min: breached
#   c1     06-01 08:00 (06-01 10:00)    08:10 met          08:15 -> 08:30 met   08:35 met
#   c2     06-01 09:00 (06-01 11:00)    09:20 met          -                    11:30 breached
#   c3     06-01 10:00 (06-01 12:00)    10:45 breached     -                    12:30 breached
#   c4     06-01 22:30 (06-02 00:30)    22:40 met          -                    23:00 met
#   c5     06-03 09:00 (06-03 11:00)    not yet            -                    not yet
#
# The report runs at 06-03 09:10 UTC: c5's clocks are within target, not counted. c0's first
# response and resolution clocks started the day before the range; its next-response clock
# started on 06-01 and counts there. On UTC days c4 would fall on 06-01; on Berlin's, 06-02.
SLA_FROM, SLA_TO = date(2026, 6, 1), date(2026, 6, 3)
SLA_NOW = utc(6, 3, 9, 10)


def sla_days(*days: tuple[int, int, float | None]) -> list[dict[str, object]]:
    """Rows of 06-01, 06-02, 06-03 from (met, breached, percent)."""
    return [
        {"date": f"2026-06-0{i}", "met": met, "breached": breached, "percent": percent}
        for i, (met, breached, percent) in enumerate(days, start=1)
    ]


EXPECTED_SLA = {
    "first_response": sla_days((2, 1, 66.67), (1, 0, 100.0), (0, 0, None)),
    "next_response": sla_days((1, 1, 50.0), (0, 0, None), (0, 0, None)),
    "resolution": sla_days((1, 2, 33.33), (1, 0, 100.0), (0, 0, None)),
    "totals": {
        "first_response": {"met": 3, "breached": 1, "percent": 75.0},
        "next_response": {"met": 1, "breached": 1, "percent": 50.0},
        "resolution": {"met": 2, "breached": 2, "percent": 50.0},
    },
}


@pytest.fixture
def sla_timeline(
    report_zone: str,
    handle: Handle,  # noqa: F811
    clock: time_machine.Coordinates,  # noqa: F811
    advocate: User,
) -> dict[str, Ticket]:
    """The table above; the clock stops at SLA_NOW. Returns the tickets by name."""

    def says(name: str) -> Callable[[], None]:
        return lambda: carol_says(handle, when, name)

    def we_answer(name: str) -> Callable[[], None]:
        return lambda: we_say_from_the_x_app(handle, when, name)

    def solved(name: str) -> Callable[[], None]:
        return lambda: ticket_actions.ticket_status_set(
            ticket=Ticket.objects.get(conversation_id=name), status="solved", by=advocate
        )

    steps = [
        (utc(5, 31, 20, 0), says("c0")),
        (utc(5, 31, 20, 5), we_answer("c0")),
        (utc(6, 1, 7, 0), says("c0")),
        (utc(6, 1, 8, 0), we_answer("c0")),
        (utc(6, 1, 8, 0), says("c1")),
        (utc(6, 1, 8, 10), we_answer("c1")),
        (utc(6, 1, 8, 15), says("c1")),
        (utc(6, 1, 8, 30), we_answer("c1")),
        (utc(6, 1, 8, 35), solved("c1")),
        (utc(6, 1, 9, 0), says("c2")),
        (utc(6, 1, 9, 20), we_answer("c2")),
        (utc(6, 1, 11, 30), solved("c2")),
        (utc(6, 1, 10, 0), says("c3")),
        (utc(6, 1, 10, 45), we_answer("c3")),
        (utc(6, 1, 12, 30), solved("c3")),
        (utc(6, 1, 22, 30), says("c4")),
        (utc(6, 1, 22, 40), we_answer("c4")),
        (utc(6, 1, 23, 0), solved("c4")),
        (utc(6, 3, 9, 0), says("c5")),
    ]
    # In time order, as they happen (a step reads `when` when it runs).
    for when, step in sorted(steps, key=lambda s: s[0]):
        clock.move_to(when)
        step()
    clock.move_to(SLA_NOW)
    assert settings.REPORTS_TIME_ZONE == ZONE
    return {t.conversation_id: t for t in Ticket.objects.all()}
