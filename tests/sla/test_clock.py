"""The clock module on small timelines whose answers were worked out by hand (comments show
the arithmetic). Europe/Amsterdam switches to summer time on Sunday 2026-03-29 (02:00 CET ->
03:00 CEST) and back on Sunday 2026-10-25 (03:00 CEST -> 02:00 CET)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mentiondesk.sla.clock import (
    FIRST_RESPONSE,
    INBOUND,
    NEXT_RESPONSE,
    OUTBOUND,
    RESOLUTION,
    STATUS,
    Calendar,
    Clock,
    Moment,
    Targets,
    clock_next_due,
    clocks_compute,
)

NINE_TO_FIVE = ((9 * 60, 17 * 60),)
OFFICE_WEEK = (NINE_TO_FIVE,) * 5 + ((), ())  # Monday to Friday
AMSTERDAM = Calendar("Europe/Amsterdam", OFFICE_WEEK, frozenset({date(2026, 12, 25)}))
AROUND_THE_CLOCK = Calendar("Europe/Amsterdam")
HOUR = 3600


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def inbound(at: datetime) -> Moment:
    return Moment(at, INBOUND)


def outbound(at: datetime) -> Moment:
    return Moment(at, OUTBOUND)


def status(at: datetime, value: str) -> Moment:
    return Moment(at, STATUS, value)


def by_metric(clocks: list[Clock], metric: str) -> list[Clock]:
    return [c for c in clocks if c.metric == metric]


def test_a_whole_day_lasts_23_hours_in_spring_and_25_in_autumn() -> None:
    every_day = Calendar("Europe/Amsterdam", (((0, 24 * 60),),) * 7)
    # 2026-03-29 00:00 CET = 03-28 23:00 UTC; 03-30 00:00 CEST = 03-29 22:00 UTC.
    assert every_day.seconds(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)) == 23 * HOUR
    # 2026-10-25 00:00 CEST = 10-24 22:00 UTC; 10-26 00:00 CET = 10-25 23:00 UTC.
    assert every_day.seconds(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)) == 25 * HOUR


def test_business_hours_first_response_over_the_spring_weekend() -> None:
    # Friday 2026-03-27 16:00 CET = 15:00 UTC. 2 business hours: 16:00-17:00 Friday, then
    # Monday 03-30 09:00-10:00 CEST, and 10:00 CEST is 08:00 UTC (09:00 UTC before the switch).
    targets = Targets(first_response=2 * HOUR, calendar=AMSTERDAM)
    waiting = clocks_compute([inbound(utc(2026, 3, 27, 15))], targets, now=utc(2026, 3, 28, 12))
    (first,) = waiting
    assert first.due_at == utc(2026, 3, 30, 8)
    assert first.elapsed_seconds == 1 * HOUR  # Friday 16:00-17:00; Saturday counts nothing
    assert first.running and not first.paused and not first.breached

    # Answered Monday 09:30 CEST (07:30 UTC): 1 h on Friday + 30 min on Monday.
    answered = clocks_compute(
        [inbound(utc(2026, 3, 27, 15)), outbound(utc(2026, 3, 30, 7, 30))],
        targets,
        now=utc(2026, 3, 30, 12),
    )
    (first,) = answered
    assert first.stopped_at == utc(2026, 3, 30, 7, 30)
    assert first.elapsed_seconds == 1.5 * HOUR
    assert first.met and first.due_at is None


def test_business_hours_breach_is_dated_in_summer_time() -> None:
    # Same mention, answered Monday 11:00 CEST (09:00 UTC): 1 h + 2 h = 3 h > 2 h; the
    # deadline passed at 10:00 CEST = 08:00 UTC.
    (first,) = clocks_compute(
        [inbound(utc(2026, 3, 27, 15)), outbound(utc(2026, 3, 30, 9))],
        Targets(first_response=2 * HOUR, calendar=AMSTERDAM),
        now=utc(2026, 3, 31),
    )
    assert first.breached and not first.met
    assert first.elapsed_seconds == 3 * HOUR
    assert first.due_at == utc(2026, 3, 30, 8)


def test_around_the_clock_target_counts_real_hours_over_the_autumn_switch() -> None:
    # Saturday 2026-10-24 12:00 CEST = 10:00 UTC; 24 real hours later is 10-25 10:00 UTC,
    # which the wall clock in Amsterdam shows as 11:00 CET (the night had 25 hours).
    (first,) = clocks_compute(
        [inbound(utc(2026, 10, 24, 10))],
        Targets(first_response=24 * HOUR, calendar=AROUND_THE_CLOCK),
        now=utc(2026, 10, 24, 12),
    )
    assert first.due_at == utc(2026, 10, 25, 10)
    assert first.elapsed_seconds == 2 * HOUR


def test_business_hours_in_autumn_winter_time_deadline() -> None:
    # Friday 2026-10-23 16:30 CEST = 14:30 UTC, target 1 h: 30 min on Friday, then Monday
    # 10-26 09:00-09:30 CET = 08:00-08:30 UTC (it would be 07:30 UTC in summer time).
    (first,) = clocks_compute(
        [inbound(utc(2026, 10, 23, 14, 30))],
        Targets(first_response=HOUR, calendar=AMSTERDAM),
        now=utc(2026, 10, 24),
    )
    assert first.due_at == utc(2026, 10, 26, 8, 30)


def test_holiday_counts_no_time() -> None:
    # Thursday 2026-12-24 16:30 CET = 15:30 UTC, target 1 h: 16:30-17:00 Thursday; Friday
    # 12-25 is a holiday, then the weekend; Monday 12-28 09:00-09:30 CET = 08:00-08:30 UTC.
    targets = Targets(first_response=HOUR, calendar=AMSTERDAM)
    (first,) = clocks_compute([inbound(utc(2026, 12, 24, 15, 30))], targets, utc(2026, 12, 26))
    assert first.due_at == utc(2026, 12, 28, 8, 30)
    assert first.elapsed_seconds == 0.5 * HOUR
    assert AMSTERDAM.seconds(utc(2026, 12, 24, 16), utc(2026, 12, 28, 16)) == 8 * HOUR


TARGETS = Targets(
    first_response=30 * 60, next_response=45 * 60, resolution=2 * HOUR, calendar=AROUND_THE_CLOCK
)
# One ticket's day, all times UTC (a Tuesday):
TIMELINE = [
    inbound(utc(2026, 6, 2, 10, 0)),  # first post: first response and resolution start
    outbound(utc(2026, 6, 2, 10, 20)),  # answered from the X app, attached by ingest
    status(utc(2026, 6, 2, 10, 21), "pending"),  # waiting on the customer: nothing counts
    inbound(utc(2026, 6, 2, 12, 0)),  # they answer: open again, next response starts
    status(utc(2026, 6, 2, 12, 10), "pending"),  # set pending without replying: pause
    inbound(utc(2026, 6, 2, 13, 0)),  # they write again: resume (no second clock)
    outbound(utc(2026, 6, 2, 13, 50)),  # our answer
    status(utc(2026, 6, 2, 14, 0), "solved"),
    status(utc(2026, 6, 2, 16, 0), "open"),  # reopened by an agent: next response starts
]


def test_timeline_with_pauses_an_outside_reply_and_a_reopen() -> None:
    clocks = clocks_compute(TIMELINE, TARGETS, now=utc(2026, 6, 2, 16, 30))

    (first,) = by_metric(clocks, FIRST_RESPONSE)
    # 10:00 -> 10:20, stopped by the post from outside the desk.
    assert (first.elapsed_seconds, first.met) == (20 * 60, True)
    assert first.stopped_at == utc(2026, 6, 2, 10, 20)

    answered, reopened = by_metric(clocks, NEXT_RESPONSE)
    # 12:00-12:10 counted, 12:10-13:00 paused, 13:00-13:50 counted: 60 min > 45 min. The
    # 45th counted minute was 13:35 (10 before the pause, 35 after it).
    assert answered.started_at == utc(2026, 6, 2, 12, 0)
    assert answered.elapsed_seconds == 60 * 60
    assert answered.breached
    assert answered.due_at == utc(2026, 6, 2, 13, 35)
    # The reopen at 16:00 started a clock; 30 of its 45 minutes are used at 16:30.
    assert reopened.started_at == utc(2026, 6, 2, 16, 0)
    assert reopened.running and not reopened.breached
    assert reopened.elapsed_seconds == 30 * 60
    assert reopened.due_at == utc(2026, 6, 2, 16, 45)

    (resolution,) = by_metric(clocks, RESOLUTION)
    # 10:00-10:21, 12:00-12:10, 13:00-14:00 = 91 min before the solve; +30 min since the
    # reopen = 121 min > 120 min. The 120th minute: 16:00 + 29 min.
    assert resolution.running
    assert resolution.elapsed_seconds == 121 * 60
    assert resolution.breached
    assert resolution.due_at == utc(2026, 6, 2, 16, 29)
    assert clock_next_due(clocks) == resolution  # overdue comes first


def test_resolution_stops_at_the_solve() -> None:
    clocks = clocks_compute(TIMELINE[:8], TARGETS, now=utc(2026, 6, 2, 15))
    (resolution,) = by_metric(clocks, RESOLUTION)
    assert resolution.stopped_at == utc(2026, 6, 2, 14, 0)
    assert (resolution.elapsed_seconds, resolution.met) == (91 * 60, True)
    assert clock_next_due(clocks) is None


def test_pending_clock_is_paused_and_has_no_deadline() -> None:
    clocks = clocks_compute(TIMELINE[:5], TARGETS, now=utc(2026, 6, 2, 12, 40))
    (next_response,) = by_metric(clocks, NEXT_RESPONSE)
    assert next_response.paused and next_response.running
    assert next_response.elapsed_seconds == 10 * 60
    assert next_response.due_at is None


def test_customer_reply_reopens_a_solved_ticket_and_starts_the_next_response_clock() -> None:
    clocks = clocks_compute(
        [
            inbound(utc(2026, 6, 2, 10)),
            outbound(utc(2026, 6, 2, 10, 5)),
            status(utc(2026, 6, 2, 10, 6), "solved"),
            inbound(utc(2026, 6, 2, 11)),  # ingest reopens the ticket
            status(utc(2026, 6, 2, 11, 1), "open"),  # ...and records it a minute later
        ],
        TARGETS,
        now=utc(2026, 6, 2, 11, 10),
    )
    (next_response,) = by_metric(clocks, NEXT_RESPONSE)
    assert next_response.started_at == utc(2026, 6, 2, 11)  # the post, not the event
    assert next_response.due_at == utc(2026, 6, 2, 11, 45)
    (resolution,) = by_metric(clocks, RESOLUTION)
    assert resolution.elapsed_seconds == (6 + 10) * 60


def test_solving_without_an_answer_stops_the_response_clock() -> None:
    clocks = clocks_compute(
        [inbound(utc(2026, 6, 2, 10)), status(utc(2026, 6, 2, 10, 10), "solved")],
        TARGETS,
        now=utc(2026, 6, 3),
    )
    (first,) = by_metric(clocks, FIRST_RESPONSE)
    assert first.met and first.elapsed_seconds == 10 * 60


def test_our_posts_before_the_requester_wrote_answer_nothing() -> None:
    # The announcement they replied to is stored with the ticket, for context.
    clocks = clocks_compute(
        [outbound(utc(2026, 6, 2, 9)), inbound(utc(2026, 6, 2, 10))],
        TARGETS,
        now=utc(2026, 6, 2, 10, 40),
    )
    (first,) = by_metric(clocks, FIRST_RESPONSE)
    assert first.running and first.breached
    assert first.due_at == utc(2026, 6, 2, 10, 30)


def test_unmeasured_metrics_have_no_clocks() -> None:
    clocks = clocks_compute(TIMELINE, Targets(first_response=60), now=utc(2026, 6, 3))
    assert [c.metric for c in clocks] == [FIRST_RESPONSE]


@pytest.mark.parametrize(
    ("start", "seconds", "expected"),
    [
        # Saturday night -> Monday 09:00 CEST + 10 min.
        (utc(2026, 3, 28, 22), 600, utc(2026, 3, 30, 7, 10)),
        # Exactly the rest of Friday: the deadline is the close, 17:00 CET = 16:00 UTC.
        (utc(2026, 3, 27, 15), HOUR, utc(2026, 3, 27, 16)),
        # A second more rolls over to Monday 09:00:01 CEST.
        (utc(2026, 3, 27, 15), HOUR + 1, utc(2026, 3, 30, 7, 0, 1)),
    ],
)
def test_calendar_add(start: datetime, seconds: int, expected: datetime) -> None:
    assert AMSTERDAM.add(start, seconds) == expected
    assert AMSTERDAM.seconds(start, expected) == seconds


def test_status_the_timeline_never_recorded_is_taken_from_the_ticket() -> None:
    # History from before statuses were logged: the ticket is solved, the events do not say
    # when; its solved_at (11:00) stands in.
    clocks = clocks_compute(
        [inbound(utc(2026, 6, 2, 10)), outbound(utc(2026, 6, 2, 10, 5))],
        TARGETS,
        now=utc(2026, 6, 3),
        status_now=("solved", utc(2026, 6, 2, 11)),
    )
    (resolution,) = by_metric(clocks, RESOLUTION)
    assert resolution.stopped_at == utc(2026, 6, 2, 11)
    assert (resolution.elapsed_seconds, resolution.met) == (HOUR, True)
