"""SLA clocks from a ticket's timeline: pure functions, no database, no `now()`.

A ticket's timeline is its requester's posts, our posts and its status changes, in order.
From it come three kinds of clock:

- first response: starts at the requester's first post, stops at our first post after it;
- next response: starts at a requester's post that arrives while no response clock runs (we
  had answered, or the ticket was solved), or when someone reopens a solved ticket; stops at
  our next post;
- resolution: runs from the requester's first post until the ticket is solved or closed, and
  again after it is reopened (one clock per ticket, time adds up).

Any post of ours counts, whether the desk sent it or someone answered from the X app and
ingest attached it to the ticket: clocks follow posts, not buttons. Solving or closing a
ticket stops its response clock too (a ticket that needs no answer is not late). While the
ticket is pending (waiting on the customer) no clock counts time; the requester's next post
sets it open again.

Time counts on a `Calendar`: around the clock, or only inside business hours of an IANA time
zone, minus holidays. Business windows are built from local wall times per day and converted
to UTC, so a day with a daylight-saving switch is as long as its business hours say, and all
arithmetic after that is on absolute (UTC) instants.

A clock is met when its counted time is at most its target, breached when it is more. Its
`due_at` is the deadline: when a running clock will breach (unknown while paused), or when a
breached clock did."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIRST_RESPONSE = "first_response"
NEXT_RESPONSE = "next_response"
RESOLUTION = "resolution"
METRICS = (FIRST_RESPONSE, NEXT_RESPONSE, RESOLUTION)

INBOUND = "in"
OUTBOUND = "out"
STATUS = "status"

# Ticket statuses, as in tickets.models.Ticket.Status; clocks count only in the first two.
COUNTING = frozenset({"new", "open"})
PENDING = "pending"
DONE = frozenset({"solved", "closed"})

# A window list per weekday, Monday first; each window is (start, end) in minutes after local
# midnight, end up to 1440 (24:00).
Week = tuple[tuple[tuple[int, int], ...], ...]
ALL_DAY = (0, 24 * 60)


@dataclass(frozen=True)
class Calendar:
    """When SLA time counts. `week` None: around the clock (holidays do not apply)."""

    time_zone: str = "UTC"
    week: Week | None = None
    holidays: frozenset[date] = frozenset()

    @property
    def always(self) -> bool:
        return self.week is None

    def windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business windows in UTC that end after `start`, clipped to start there; endless.
        The schema guarantees at least one weekday with hours, so this always advances."""
        week = self.week or ((ALL_DAY,),) * 7
        zone = ZoneInfo(self.time_zone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        while True:
            if day not in self.holidays:
                midnight = datetime.combine(day, time(0), tzinfo=zone)
                for begin, end in week[day.weekday()]:
                    # Wall-clock arithmetic: zoneinfo gives the offset of the resulting local
                    # time, so 09:00 on a DST Sunday is 09:00 there, whatever the offset.
                    a = _utc(midnight + timedelta(minutes=begin))
                    b = _utc(midnight + timedelta(minutes=end))
                    if b > start:
                        yield max(a, start), b
            day += timedelta(days=1)

    def seconds(self, start: datetime, end: datetime) -> float:
        """Counted seconds between two instants (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        for a, b in self.windows(start):
            if a >= end:
                break
            total += (min(b, end) - a).total_seconds()
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` counted seconds have passed since `start`."""
        if seconds <= 0:
            return start
        if self.always:
            return start + timedelta(seconds=seconds)
        left = seconds
        for a, b in self.windows(start):
            span = (b - a).total_seconds()
            if left <= span:
                return a + timedelta(seconds=left)
            left -= span
        raise AssertionError("unreachable: windows() never ends")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Targets:
    """Target seconds per metric (None: not measured) and the calendar they count on."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    calendar: Calendar = field(default_factory=Calendar)

    def of(self, metric: str) -> int | None:
        value: int | None = getattr(self, metric)
        return value


@dataclass(frozen=True)
class Moment:
    """One thing on a ticket's timeline: a post (`in` from the requester, `out` from us) or
    a status change (`status` with the new status)."""

    at: datetime
    kind: str
    status: str = ""


@dataclass(frozen=True)
class Clock:
    """One measured clock. `elapsed_seconds` is counted time up to `stopped_at`, or up to
    `now` for a running clock. `due_at`: see the module docstring."""

    metric: str
    started_at: datetime
    stopped_at: datetime | None
    target_seconds: int
    elapsed_seconds: float
    paused: bool
    due_at: datetime | None
    breached: bool

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    @property
    def met(self) -> bool:
        return not self.running and not self.breached


@dataclass
class _Run:
    """A clock being built: the spans during which it counted."""

    metric: str
    started_at: datetime
    spans: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    stopped_at: datetime | None = None

    def resume(self, at: datetime) -> None:
        if not self.spans or self.spans[-1][1] is not None:
            self.spans.append((at, None))

    def pause(self, at: datetime) -> None:
        if self.spans and self.spans[-1][1] is None:
            self.spans[-1] = (self.spans[-1][0], at)

    def stop(self, at: datetime) -> None:
        self.pause(at)
        self.stopped_at = at


def clocks_compute(
    moments: Iterable[Moment],
    targets: Targets,
    now: datetime,
    *,
    status_now: tuple[str, datetime] | None = None,
) -> list[Clock]:
    """Every clock of one ticket, as of `now`, for the metrics `targets` measures.

    `moments` in timeline order (posts before status changes at the same instant is a good
    tie-break: X gives post times to the second); they are sorted by time here, stably.
    Moments after `now` are ignored. `status_now` is the ticket's status and when it was
    last set: if the timeline ends in another status (history recorded before statuses were
    logged), the ticket is taken to have changed to it then (never before the last moment)."""
    status = "new"
    response: _Run | None = None
    responses: list[_Run] = []
    resolution: _Run | None = None
    resolved_at: datetime | None = None

    def set_status(new: str, at: datetime) -> None:
        nonlocal status
        was, status = status in COUNTING, new
        runs = [r for r in (response, resolution) if r is not None]
        if was and new not in COUNTING:
            for run in runs:
                run.pause(at)
        elif not was and new in COUNTING:
            for run in runs:
                run.resume(at)

    def start_response(at: datetime) -> _Run:
        run = _Run(NEXT_RESPONSE if responses else FIRST_RESPONSE, at)
        responses.append(run)
        if status in COUNTING:
            run.resume(at)
        return run

    def apply(moment: Moment) -> None:
        nonlocal response, resolution, resolved_at
        at = moment.at
        if moment.kind == INBOUND:
            if status == "closed":
                return  # a closed ticket takes no more posts; ingest opens a new one
            if status not in COUNTING:
                set_status("open", at)
            if resolution is None:
                resolution = _Run(RESOLUTION, at)
                resolution.resume(at)
            resolved_at = None
            if response is None:
                response = start_response(at)
        elif moment.kind == OUTBOUND:
            if response is not None:
                response.stop(at)
                response = None
        elif moment.kind == STATUS and moment.status != status:
            reopened = status in DONE and moment.status in COUNTING
            set_status(moment.status, at)
            if moment.status in DONE:
                resolved_at = at
                if response is not None:
                    response.stop(at)
                    response = None
            elif reopened:
                resolved_at = None
                if resolution is not None and response is None:
                    response = start_response(at)

    last = None
    for moment in sorted(moments, key=lambda m: m.at):
        if moment.at > now:
            break
        apply(moment)
        last = moment.at
    if status_now is not None and status_now[0] != status:
        at = min(max(status_now[1], last or status_now[1]), now)
        apply(Moment(at, STATUS, status_now[0]))

    if resolution is not None and resolved_at is not None:
        resolution.stopped_at = resolved_at
    clocks = []
    for run in [*responses, *([resolution] if resolution else [])]:
        target = targets.of(run.metric)
        if target is not None:
            clocks.append(_measure(run, target, targets.calendar, now))
    return clocks


def _measure(run: _Run, target: int, calendar: Calendar, now: datetime) -> Clock:
    elapsed = 0.0
    crossed: datetime | None = None
    open_from: datetime | None = None
    counted_before_open = 0.0
    for begin, end in run.spans:
        if end is None:
            open_from, counted_before_open = begin, elapsed
        counted = calendar.seconds(begin, end or now)
        if crossed is None and elapsed + counted > target:
            crossed = calendar.add(begin, target - elapsed)
        elapsed += counted
    due_at = crossed
    if crossed is None and run.stopped_at is None and open_from is not None:
        due_at = calendar.add(open_from, target - counted_before_open)
    return Clock(
        metric=run.metric,
        started_at=run.started_at,
        stopped_at=run.stopped_at,
        target_seconds=target,
        elapsed_seconds=elapsed,
        paused=run.stopped_at is None and open_from is None,
        due_at=due_at,
        breached=crossed is not None,
    )


def clock_next_due(clocks: Sequence[Clock]) -> Clock | None:
    """The running, counting clock with the earliest deadline (overdue ones first)."""
    due = [c for c in clocks if c.running and not c.paused and c.due_at is not None]
    return min(due, key=lambda c: c.due_at or c.started_at) if due else None
