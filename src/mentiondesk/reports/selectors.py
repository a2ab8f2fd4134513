"""Reads for the reports: ticket volume, first-response times, the backlog and % within SLA, in
all and per network, for the page's charts, the API and `mentiondesk report`. Every figure is
computed here and only here; the definitions are in the README ("Reports") and on each
function below.

Counts and buckets are aggregated by the database (day and hour buckets on the report's time
zone, DST included: SQLite through Django's zone-aware functions, PostgreSQL with AT TIME
ZONE). Percentiles are nearest-rank over the waits the database returns sorted: SQLite has no
percentile aggregate, and one method on both engines gives the same numbers on both."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from mentiondesk.accounts.models import User
from mentiondesk.channels.connectors import network_facts
from mentiondesk.channels.models import Handle, Network
from mentiondesk.core.constants import POST_TIME_MAX, POST_TIME_MIN, POST_TIME_RANGE
from mentiondesk.core.errors import DomainError, Forbidden
from mentiondesk.core.intents import Intent
from mentiondesk.sla.clock import METRICS
from mentiondesk.sla.selectors import AttainmentRow, sla_attainment, sla_attainment_by_network
from mentiondesk.tickets.models import QUEUE_STATUSES, Ticket
from mentiondesk.triage.selectors import ModelAccuracy, triage_accuracy

from .constants import (
    BACKLOG_BUCKETS,
    DEFAULT_RANGE_DAYS,
    FIRST_RESPONSE_BUCKETS,
    MAX_RANGE_DAYS,
    MEDIAN,
    P90,
    REPORT_ROLES,
    Bucket,
)

UNASSIGNED_LABEL = "Unassigned"


@dataclass(frozen=True)
class ReportFilters:
    """Which tickets a report counts. Build it with `report_filters`, which checks the input."""

    date_from: date
    date_to: date
    time_zone: ZoneInfo
    handle: Handle | None = None
    intent: str | None = None
    agent: User | None = None
    network: str | None = None

    @property
    def start(self) -> datetime:
        """The first instant counted (UTC): midnight starting `date_from` on the report's clock."""
        return datetime.combine(self.date_from, time.min, self.time_zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant not counted (UTC): midnight after `date_to` on the report's clock.
        In UTC, so that `end - start` is elapsed time (25 hours on the day clocks go back)."""
        day_after = self.date_to + timedelta(days=1)
        return datetime.combine(day_after, time.min, self.time_zone).astimezone(UTC)


@dataclass(frozen=True)
class Counted:
    key: str | None
    label: str
    tickets: int


@dataclass(frozen=True)
class ResponseTimes:
    """First-response times of one group of tickets (all of them, one handle, one agent)."""

    key: str | None
    label: str
    tickets: int
    answered: int
    median: timedelta | None
    p90: timedelta | None
    # The handle's network, for the rows per handle (a name can be ours on two networks).
    network: str | None = None


@dataclass(frozen=True)
class NetworkFigures:
    """How one network was served: its tickets' first-response times (`times.key` is the
    network) and, per SLA metric, its clocks that started in the range (all days together)."""

    times: ResponseTimes
    sla: dict[str, AttainmentRow]


@dataclass(frozen=True)
class Backlog:
    as_of: datetime
    tickets: int
    oldest: timedelta | None
    by_age: list[Counted]


@dataclass(frozen=True)
class Report:
    filters: ReportFilters
    by_day: list[tuple[date, int]]
    by_hour: list[tuple[int, int]]
    by_intent: list[Counted]
    first_response: ResponseTimes
    first_response_distribution: list[Counted]
    first_response_by_handle: list[ResponseTimes]
    first_response_by_agent: list[ResponseTimes]
    # Every network, in the order of `Network`, with or without tickets.
    by_network: list[NetworkFigures]
    backlog: Backlog
    # Per SLA metric: one row per day of the range, then the range's totals (dated its first day).
    sla: dict[str, list[AttainmentRow]]
    sla_totals: dict[str, AttainmentRow]
    # How triage's intent model did on the posts people corrected in the range, per model
    # version, the live one first (the handle, intent and agent filters do not apply).
    triage_accuracy: list[ModelAccuracy]


def report_viewer_check(*, viewer: User) -> None:
    """Raises Forbidden unless `viewer` may read reports (leads and admins)."""
    if viewer.role not in REPORT_ROLES:
        raise Forbidden("only leads and admins can read reports")


def report_filters(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    handle: str | None = None,
    intent: str | None = None,
    agent: str | None = None,
    network: str | None = None,
    today: date | None = None,
) -> ReportFilters:
    """Checked filters on the time zone of `settings.REPORTS_TIME_ZONE`.

    Both dates are inclusive days on that clock; without them the range is the last
    DEFAULT_RANGE_DAYS days up to `today` (default: today on that clock). `handle` is a
    username (with or without "@", any case) of a handle on `network` when given, `intent` an
    intent value, `agent` a username, `network` a network value (x, mastodon, bluesky).
    Raises DomainError naming the field for an unknown network, handle, intent or agent, a
    handle name used on several networks without `network`, a day outside the years posts
    may carry (core.constants), a range that ends before it starts or one longer than
    MAX_RANGE_DAYS. Read-only."""
    tz = ZoneInfo(settings.REPORTS_TIME_ZONE)
    # Checked before any arithmetic: a day at the ends of the calendar overflows it, and no
    # post is stored outside these years.
    for field, day in (("from", date_from), ("to", date_to)):
        if day is not None and not POST_TIME_MIN.year <= day.year < POST_TIME_MAX.year:
            raise DomainError(f"a report's days run {POST_TIME_RANGE}", field=field)
    if date_to is None:
        date_to = today or timezone.now().astimezone(tz).date()
    if date_from is None:
        date_from = date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if date_to < date_from:
        raise DomainError("the range ends before it starts", field="to")
    if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
        raise DomainError(f"a report covers at most {MAX_RANGE_DAYS} days", field="from")
    network = _network_checked(network) if network else None
    return ReportFilters(
        date_from=date_from,
        date_to=date_to,
        time_zone=tz,
        handle=_handle_named(handle, network=network) if handle else None,
        intent=_intent_checked(intent) if intent else None,
        agent=_agent_named(agent) if agent else None,
        network=network,
    )


def report_get(*, viewer: User, filters: ReportFilters, now: datetime | None = None) -> Report:
    """The report for a person: `report_viewer_check`, then `report_build`."""
    report_viewer_check(viewer=viewer)
    return report_build(filters=filters, now=now)


def report_build(*, filters: ReportFilters, now: datetime | None = None) -> Report:
    """Every figure of the report. Trusted callers only (the command line owns the database);
    people go through `report_get`. `now` (default: the current time) dates the backlog and
    decides which running SLA clocks are breached already.

    Tickets counted: created (`Ticket.created_at`, the requester's first post) in
    [filters.start, filters.end), any status, matching the network, handle, intent (the
    ticket's) and agent (the ticket's current assignee). SLA clocks counted: see `_sla`; per
    network, the same clocks over the whole range. Triage accuracy: the posts people
    corrected in the range (`triage_accuracy`). Read-only: a handful of aggregate queries."""
    # To the second: JSON times carry milliseconds at most, and as_of must be exact.
    now = (now or timezone.now()).replace(microsecond=0)
    tickets = _matching(filters).filter(created_at__gte=filters.start, created_at__lt=filters.end)
    sla = _sla(filters, now)
    first_response = _first_response(tickets)
    per_network = first_response.pop("per_network")
    return Report(
        filters=filters,
        by_day=_by_day(tickets, filters),
        by_hour=_by_hour(tickets, filters),
        by_intent=_by_intent(tickets),
        **first_response,
        by_network=_by_network(filters, now, per_network),
        backlog=_backlog(_matching(filters), now),
        sla=sla,
        sla_totals={
            metric: AttainmentRow(
                filters.date_from, sum(r.met for r in rows), sum(r.breached for r in rows)
            )
            for metric, rows in sla.items()
        },
        triage_accuracy=triage_accuracy(corrected_from=filters.start, corrected_to=filters.end),
    )


def nearest_rank(waits: Sequence[timedelta], percent: int) -> timedelta | None:
    """The nearest-rank percentile of sorted `waits`: the value at rank ceil(percent/100 * n),
    counting from 1 (a value that occurs in the data, never an interpolation). None if empty."""
    if not waits:
        return None
    rank = max(1, -(-percent * len(waits) // 100))
    return waits[rank - 1]


def _matching(filters: ReportFilters) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    if filters.network is not None:
        qs = qs.filter(network=filters.network)
    if filters.handle is not None:
        qs = qs.filter(handle=filters.handle)
    if filters.intent is not None:
        qs = qs.filter(intent=filters.intent)
    if filters.agent is not None:
        qs = qs.filter(assignee=filters.agent)
    return qs


def _days(filters: ReportFilters) -> list[date]:
    """Every day of the range, in order: charts over time show the days without figures too."""
    count = (filters.date_to - filters.date_from).days + 1
    return [filters.date_from + timedelta(days=i) for i in range(count)]


def _by_day(tickets: QuerySet[Ticket], filters: ReportFilters) -> list[tuple[date, int]]:
    bucket = TruncDate("created_at", tzinfo=filters.time_zone)
    counts = {_as_date(day): n for day, n in _count_by(tickets, bucket)}
    return [(day, counts.get(day, 0)) for day in _days(filters)]


def _sla(filters: ReportFilters, now: datetime) -> dict[str, list[AttainmentRow]]:
    """Met and breached SLA clocks per metric and day, from the SLA app's stored clocks (its
    `sla_attainment` decides what met and what breached as of `now`).

    Clocks counted: those of the tickets matching the network, handle, intent and agent filters
    whose start falls on a day of the range on the report's clock, whenever their ticket was
    created (a follow-up starts a next-response clock days later); a clock still within its
    target is not counted yet. Days without a decided clock have met = breached = 0 and no
    percent."""
    tickets = _matching(filters)
    days = _days(filters)
    sla: dict[str, list[AttainmentRow]] = {}
    for metric in METRICS:
        rows = sla_attainment(
            tickets, metric=metric, bucket="day", time_zone=filters.time_zone.key, now=now
        )
        by_day = {_as_date(row.period): row for row in rows}
        sla[metric] = [by_day.get(day, AttainmentRow(day, 0, 0)) for day in days]
    return sla


def _by_hour(tickets: QuerySet[Ticket], filters: ReportFilters) -> list[tuple[int, int]]:
    bucket = ExtractHour("created_at", tzinfo=filters.time_zone)
    counts = {int(hour): n for hour, n in _count_by(tickets, bucket)}
    return [(hour, counts.get(hour, 0)) for hour in range(24)]


def _count_by(tickets: QuerySet[Ticket], bucket: Any) -> list[tuple[Any, int]]:
    """(bucket, tickets) for each bucket that has tickets, counted by the database."""
    rows = tickets.annotate(bucket=bucket).values("bucket").annotate(n=Count("id")).order_by()
    return [(row["bucket"], row["n"]) for row in rows]


def _by_intent(tickets: QuerySet[Ticket]) -> list[Counted]:
    counts = dict(tickets.values_list("intent").annotate(n=Count("id")).order_by())
    # Every intent, "not triaged" last, so the chart keeps its shape under any filter.
    ordered = [c for c in Intent.choices if c[0]] + [c for c in Intent.choices if not c[0]]
    return [Counted(value, str(label), counts.get(value, 0)) for value, label in ordered]


def _first_response(tickets: QuerySet[Ticket]) -> dict[str, Any]:
    """The first-response fields of `Report`, and "per_network": ResponseTimes by network."""
    # The wait is first_response_at - created_at, sorted by the database; a response recorded
    # before the ticket's first post (clock skew between networks) counts as no wait.
    wait = ExpressionWrapper(F("first_response_at") - F("created_at"), output_field=DurationField())
    rows = (
        tickets.filter(first_response_at__isnull=False)
        .annotate(wait=wait)
        .order_by("wait", "id")
        .values_list("network", "handle__network", "handle__username", "assignee__username", "wait")
    )
    everyone: list[timedelta] = []
    per_network: dict[str, list[timedelta]] = defaultdict(list)
    # By network and name: the same name can be ours on two networks (@driftwood on X and on
    # Mastodon), two handles all the same.
    per_handle: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    per_agent: dict[str | None, list[timedelta]] = defaultdict(list)
    for network, handle_network, handle, agent, delta in rows:
        clamped = max(delta, timedelta(0))
        everyone.append(clamped)
        per_network[network].append(clamped)
        per_handle[handle_network, handle].append(clamped)
        per_agent[agent].append(clamped)

    answered = Q(first_response_at__isnull=False)
    totals = tickets.aggregate(
        tickets=Count("id"),
        answered=Count("id", filter=answered),
        **{
            b.key: Count("id", filter=answered & _wait_in(b, "first_response_at", "created_at"))
            for b in FIRST_RESPONSE_BUCKETS
        },
    )
    handles = _answered_by(tickets, ("handle__username", "handle__network"), answered)
    agents = _answered_by(tickets, ("assignee__username",), answered)
    networks = {
        network: (n, done) for network, n, done in _answered_by(tickets, ("network",), answered)
    }
    return {
        "first_response": _times(
            None, "All tickets", totals["tickets"], totals["answered"], everyone
        ),
        "first_response_distribution": [
            Counted(b.key, b.label, totals[b.key]) for b in FIRST_RESPONSE_BUCKETS
        ],
        "first_response_by_handle": [
            _times(
                name,
                _handle_label(name, network),
                n,
                done,
                per_handle[network, name],
                network=network,
            )
            for name, network, n, done in handles
        ],
        "first_response_by_agent": [
            _times(name, name or UNASSIGNED_LABEL, n, done, per_agent[name])
            for name, n, done in agents
        ],
        "per_network": [
            _times(
                network,
                network_facts(network).label,
                *networks.get(network, (0, 0)),
                per_network[network],
            )
            for network in Network.values
        ],
    }


def _handle_label(name: str, network: str) -> str:
    """`@name` on X (the handbook's network), `@name (Mastodon)` on the others."""
    return f"@{name}" if network == Network.X else f"@{name} ({network_facts(network).label})"


def _answered_by(
    tickets: QuerySet[Ticket], fields: tuple[str, ...], answered: Q
) -> list[tuple[Any, ...]]:
    """(*fields, tickets, answered) per value of `fields`, by the first in any case, then the
    others; None (no assignee) last."""
    rows = (
        tickets.values_list(*fields)
        .annotate(n=Count("id"), answered=Count("id", filter=answered))
        .order_by()
    )
    return sorted(
        rows, key=lambda row: (row[0] is None, (row[0] or "").lower(), row[0] or "", row[1:])
    )


def _times(
    key: str | None,
    label: str,
    tickets: int,
    answered: int,
    waits: Sequence[timedelta],
    *,
    network: str | None = None,
) -> ResponseTimes:
    return ResponseTimes(
        key=key,
        label=label,
        tickets=tickets,
        answered=answered,
        median=nearest_rank(waits, MEDIAN),
        p90=nearest_rank(waits, P90),
        network=network,
    )


def _by_network(
    filters: ReportFilters, now: datetime, times: list[ResponseTimes]
) -> list[NetworkFigures]:
    """`times` (per network) with each network's SLA clocks that started in the range, as
    `_sla` counts them, all days together."""
    clocks = sla_attainment_by_network(
        _matching(filters), started_from=filters.start, started_to=filters.end, now=now
    )
    return [
        NetworkFigures(
            times=t,
            sla={
                metric: AttainmentRow(filters.date_from, *clocks.get((str(t.key), metric), (0, 0)))
                for metric in METRICS
            },
        )
        for t in times
    ]


def _backlog(tickets: QuerySet[Ticket], now: datetime) -> Backlog:
    """Tickets waiting for us at `now` (status new or open, whatever their date; pending ones
    wait for the requester), by age = now - created_at."""
    waiting = tickets.filter(status__literal_in=QUEUE_STATUSES)
    totals = waiting.aggregate(
        tickets=Count("id"),
        oldest=Min("created_at"),
        **{b.key: Count("id", filter=_age_in(b, now)) for b in BACKLOG_BUCKETS},
    )
    oldest = totals["oldest"]
    return Backlog(
        as_of=now,
        tickets=totals["tickets"],
        oldest=max(now - oldest, timedelta(0)) if oldest else None,
        by_age=[Counted(b.key, b.label, totals[b.key]) for b in BACKLOG_BUCKETS],
    )


def _wait_in(bucket: Bucket, later: str, earlier: str) -> Q:
    """`later - earlier` in `bucket` (the first bucket also takes negative waits)."""
    q = Q()
    if bucket.low > timedelta(0):
        q &= Q(**{f"{later}__gte": F(earlier) + bucket.low})
    if bucket.high is not None:
        q &= Q(**{f"{later}__lt": F(earlier) + bucket.high})
    return q


def _age_in(bucket: Bucket, now: datetime) -> Q:
    """`now - created_at` in `bucket` (the first bucket also takes tickets dated after now)."""
    q = Q()
    if bucket.low > timedelta(0):
        q &= Q(created_at__lte=now - bucket.low)
    if bucket.high is not None:
        q &= Q(created_at__gt=now - bucket.high)
    return q


def _as_date(value: date | str) -> date:
    # SQLite hands TruncDate back as text on some versions; PostgreSQL as a date.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _network_checked(value: str) -> str:
    if value not in Network.values:
        raise DomainError(
            f"unknown network {value!r}; use one of {', '.join(Network.values)}", field="network"
        )
    return value


def _handle_named(name: str, *, network: str | None) -> Handle:
    """The handle called `name` (on `network` when given). A name ours on several networks
    (@driftwood on X and on Mastodon) needs the network: guessing one would report on the
    other's tickets."""
    username = name.strip().removeprefix("@")
    named = Handle.objects.filter(username__iexact=username)
    if network is not None:
        named = named.filter(network=network)
    found = list(named[:2])
    on = f" on {network_facts(network).label}" if network else ""
    if not found:
        raise DomainError(f"no handle named @{username}{on}", field="handle")
    if len(found) > 1:
        networks = " and ".join(sorted(network_facts(h.network).label for h in found))
        raise DomainError(
            f"@{username} is a handle on {networks}: choose the network too", field="handle"
        )
    return found[0]


def _intent_checked(value: str) -> str:
    intents = [v for v in Intent.values if v]
    if value not in intents:
        raise DomainError(
            f"unknown intent {value!r}; use one of {', '.join(intents)}", field="intent"
        )
    return value


def _agent_named(name: str) -> User:
    user = User.objects.filter(username__iexact=name.strip()).first()
    if user is None:
        raise DomainError(f"no user named {name!r}", field="agent")
    return user


def report_as_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data: the API's body and `mentiondesk report --format json`.
    Durations are seconds; dates ISO 8601; `backlog.as_of` UTC."""
    f = report.filters
    return {
        "filters": {
            "from": f.date_from.isoformat(),
            "to": f.date_to.isoformat(),
            "time_zone": f.time_zone.key,
            "handle": f.handle.username if f.handle else None,
            "intent": f.intent,
            "agent": f.agent.username if f.agent else None,
            "network": f.network,
        },
        "volume": {
            "tickets": report.first_response.tickets,
            "by_day": [{"date": d.isoformat(), "tickets": n} for d, n in report.by_day],
            "by_hour": [{"hour": h, "tickets": n} for h, n in report.by_hour],
            "by_intent": [_counted(c, key="intent") for c in report.by_intent],
        },
        "first_response": {
            **_times_dict(report.first_response),
            "distribution": [_counted(c) for c in report.first_response_distribution],
            "by_handle": [
                {**_times_dict(t), "network": t.network} for t in report.first_response_by_handle
            ],
            "by_agent": [_times_dict(t) for t in report.first_response_by_agent],
        },
        "by_network": [
            {
                **_times_dict(n.times),
                "sla": {metric: _attainment(row) for metric, row in n.sla.items()},
            }
            for n in report.by_network
        ],
        "backlog": {
            "as_of": report.backlog.as_of.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tickets": report.backlog.tickets,
            "oldest_seconds": _seconds(report.backlog.oldest),
            "by_age": [_counted(c) for c in report.backlog.by_age],
        },
        "sla": {
            **{
                metric: [{"date": r.period.isoformat(), **_attainment(r)} for r in rows]
                for metric, rows in report.sla.items()
            },
            "totals": {metric: _attainment(r) for metric, r in report.sla_totals.items()},
        },
        "triage_accuracy": [_model_accuracy(m) for m in report.triage_accuracy],
    }


def _model_accuracy(m: ModelAccuracy) -> dict[str, Any]:
    return {
        "model": m.model,
        "live": m.is_live,
        "corrected": m.corrected,
        "right": m.right,
        "intents": [
            {
                "intent": i.intent,
                "label": i.label,
                "labelled": i.labelled,
                "labelled_right": i.labelled_right,
                "precision": i.precision,
                "actual": i.actual,
                "found": i.found,
                "recall": i.recall,
            }
            for i in m.intents
        ],
    }


def _attainment(row: AttainmentRow) -> dict[str, Any]:
    return {"met": row.met, "breached": row.breached, "percent": row.percent}


def _counted(c: Counted, *, key: str = "key") -> dict[str, Any]:
    return {key: c.key, "label": c.label, "tickets": c.tickets}


def _times_dict(t: ResponseTimes) -> dict[str, Any]:
    return {
        "key": t.key,
        "label": t.label,
        "tickets": t.tickets,
        "answered": t.answered,
        "median_seconds": _seconds(t.median),
        "p90_seconds": _seconds(t.p90),
    }


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def report_handles() -> Iterable[Handle]:
    """Handles to offer in the filters: every handle that has tickets, by name."""
    return Handle.objects.filter(tickets__isnull=False).distinct().order_by("username")


def report_agents() -> Iterable[User]:
    """Agents to offer in the filters: active users who can take tickets (not light agents)."""
    return (
        User.objects.filter(is_active=True).exclude(role=User.Role.LIGHT_AGENT).order_by("username")
    )
