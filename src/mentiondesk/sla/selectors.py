"""Reads for SLA: the timelines clocks are computed from, time left for queues and the API,
and per-clock outcomes and attainment for reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Trunc
from django.utils import timezone

from mentiondesk.channels.models import TIMELINE, Post
from mentiondesk.core.errors import DomainError
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import Ticket, TicketEvent

from . import rules
from .clock import INBOUND, METRICS, OUTBOUND, STATUS, Moment
from .models import Metric, SlaBreach, SlaClock, TicketSla

Kind = TicketEvent.Kind
# Events that move a ticket's status, and how to read the new status from each.
STATUS_EVENTS = (
    Kind.STATUS_CHANGED,
    Kind.REPLY_QUEUED,
    Kind.REPLY_NEEDS_ATTENTION,
    Kind.REPLY_RETRIED,
    Kind.FOLLOW_UP,
    Kind.REOPENED,
)
BUCKETS = ("day", "week", "month")


def _event_status(kind: str, data: dict[str, Any]) -> str:
    if kind == Kind.STATUS_CHANGED:
        return str(data.get("to", ""))
    if kind in (Kind.REPLY_QUEUED, Kind.REPLY_RETRIED):
        return str(data.get("status", ""))  # "status_after" of the reply, set again
    # A parked reply and a follow-up from the requester both set the ticket open.
    return Ticket.Status.OPEN


def ticket_moments(*, tickets: Sequence[Ticket]) -> dict[int, list[Moment]]:
    """Each ticket's timeline for the clock module, in two queries: the requester's posts
    (`in`; other people's posts stored for context do not count), all of our posts (`out`,
    sent from the desk or found on our timeline), then the status changes its events record."""
    requester = {t.pk: t.requester_remote_id for t in tickets}
    moments: dict[int, list[Moment]] = {pk: [] for pk in requester}
    posts = (
        Post.objects.filter(ticket_id__in=list(requester))
        .order_by(*TIMELINE)
        .values_list("ticket_id", "direction", "author_remote_id", "created_at")
    )
    for ticket_id, direction, author, at in posts:
        if direction == Post.Direction.OUTBOUND:
            moments[ticket_id].append(Moment(at, OUTBOUND))
        elif author == requester[ticket_id]:
            moments[ticket_id].append(Moment(at, INBOUND))
    events = (
        TicketEvent.objects.filter(ticket_id__in=list(requester), kind__in=STATUS_EVENTS)
        .order_by("created_at", "id")
        .values_list("ticket_id", "kind", "data", "created_at")
    )
    for ticket_id, kind, data, at in events:
        status = _event_status(kind, data or {})
        if status:
            moments[ticket_id].append(Moment(at, STATUS, status))
    return moments


@dataclass(frozen=True)
class SlaBadge:
    """What a queue row and the API show about a ticket's SLA right now.

    `state`: "none" (no target), "done" (no clock running), "ok", "warning" (due within the
    policy's `warn_before`), "overdue" (a counting clock passed its deadline), or "paused"
    (pending). `seconds_left` is wall-clock time to `due_at` (negative when overdue), or the
    counted seconds left when paused. `breached`: any clock of the ticket ever breached."""

    state: str
    metric: str = ""
    due_at: datetime | None = None
    seconds_left: int | None = None
    breached: bool = False

    @property
    def label(self) -> str:
        return Metric(self.metric).label if self.metric else ""


def ticket_sla_badge(*, ticket: Ticket, now: datetime | None = None) -> SlaBadge:
    """`ticket`'s SLA right now, from its stored state (select_related("sla") to avoid a
    query per ticket)."""
    try:
        sla: TicketSla | None = ticket.sla
    except TicketSla.DoesNotExist:
        sla = None
    return sla_badge(sla, now=now)


class SlaState(Protocol):
    """A ticket's stored SLA state: a TicketSla, or its columns read without the model (the
    queue's rows, tickets.selectors.QueueRow)."""

    @property
    def target(self) -> str: ...
    @property
    def due_metric(self) -> str: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def warn_at(self) -> datetime | None: ...
    @property
    def paused_seconds_left(self) -> int | None: ...
    @property
    def breached_at(self) -> datetime | None: ...


def sla_badge(sla: SlaState | None, *, now: datetime | None = None) -> SlaBadge:
    """The SLA badge of a ticket whose stored state is `sla` (None: it has none)."""
    if sla is None or not sla.target:
        return SlaBadge("none")
    now = now or timezone.now()
    breached = sla.breached_at is not None and sla.breached_at <= now
    if sla.due_at is not None:
        left = int((sla.due_at - now).total_seconds())
        warning = sla.warn_at is not None and sla.warn_at <= now
        state = "overdue" if left < 0 else "warning" if warning else "ok"
        return SlaBadge(state, sla.due_metric, sla.due_at, left, breached or left < 0)
    if sla.paused_seconds_left is not None:
        return SlaBadge("paused", sla.due_metric, None, sla.paused_seconds_left, breached)
    return SlaBadge("done", breached=breached)


def tickets_by_due(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """`tickets` with the nearest SLA deadline first (overdue first of all); tickets with no
    running clock after them, oldest first."""
    return tickets.select_related("sla").order_by(
        F("sla__due_at").asc(nulls_last=True), "created_at", "id"
    )


@dataclass(frozen=True)
class SlaOutcome:
    """One clock of one ticket, as reports see it. `outcome`: "met", "breached" (stopped
    late, or still running past its deadline), "running" (within target so far) or "paused".
    `elapsed_seconds`: counted (business) seconds, up to `stopped_at` or now."""

    ticket_id: int
    metric: str
    started_at: datetime
    stopped_at: datetime | None
    due_at: datetime | None
    target_seconds: int
    elapsed_seconds: float
    outcome: str


def sla_outcomes(
    tickets: QuerySet[Ticket], *, metric: str | None = None, now: datetime | None = None
) -> list[SlaOutcome]:
    """Every stored clock of `tickets` (of `metric` only, when given), by ticket and start."""
    now = now or timezone.now()
    policy = policy_current().sla
    clocks = (
        SlaClock.objects.filter(ticket__in=tickets)
        .select_related("ticket__sla")
        .annotate(breached_now=ExpressionWrapper(_breached(now), output_field=BooleanField()))
    )
    if metric is not None:
        clocks = clocks.filter(metric=_metric(metric))
    outcomes = []
    for clock in clocks.order_by("ticket_id", "started_at", "id"):
        elapsed = clock.elapsed_seconds
        if clock.stopped_at is None and not clock.is_paused:
            # Stored as of the refresh; add what counted since then on the ticket's calendar.
            sla = clock.ticket.sla
            target = next((t for t in policy.targets if t.name == sla.target), None)
            calendar = rules.targets_of(policy, target).calendar
            elapsed += calendar.seconds(sla.refreshed_at, now)
        if clock.breached_now:
            outcome = "breached"
        elif clock.stopped_at is not None:
            outcome = "met"
        else:
            outcome = "paused" if clock.is_paused else "running"
        outcomes.append(
            SlaOutcome(
                ticket_id=clock.ticket_id,
                metric=clock.metric,
                started_at=clock.started_at,
                stopped_at=clock.stopped_at,
                due_at=clock.due_at,
                target_seconds=clock.target_seconds,
                elapsed_seconds=elapsed,
                outcome=outcome,
            )
        )
    return outcomes


@dataclass(frozen=True)
class AttainmentRow:
    """Clocks of one period (by the day, week or month they started): how many met their
    target and how many breached it. Clocks still within target are not counted yet."""

    period: date
    met: int
    breached: int

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        """% within SLA, None for a period with nothing decided."""
        return round(100 * self.met / self.total, 2) if self.total else None


def sla_attainment(
    tickets: QuerySet[Ticket],
    *,
    metric: str,
    bucket: str = "day",
    time_zone: str = "UTC",
    now: datetime | None = None,
) -> list[AttainmentRow]:
    """% within SLA per `bucket` ("day", "week" starting Monday, "month") for the clocks of
    `tickets` measuring `metric`, in periods of `time_zone`, oldest first; periods without
    decided clocks are left out. One aggregate query over the stored clocks. Raises
    DomainError for an unknown metric, bucket or time zone."""
    now = now or timezone.now()
    if bucket not in BUCKETS:
        raise DomainError(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):
        raise DomainError(f"{time_zone!r} is not an IANA time zone", field="time_zone") from None
    rows = (
        SlaClock.objects.filter(ticket__in=tickets, metric=_metric(metric))
        .annotate(period=Trunc("started_at", bucket, output_field=DateField(), tzinfo=zone))
        .values("period")
        .annotate(met=Count("pk", filter=_met(now)), breached=Count("pk", filter=_breached(now)))
        .order_by("period")
    )
    return [
        AttainmentRow(r["period"], r["met"], r["breached"])
        for r in rows
        if r["met"] or r["breached"]
    ]


def sla_attainment_by_network(
    tickets: QuerySet[Ticket], *, started_from: datetime, started_to: datetime, now: datetime
) -> dict[tuple[str, str], tuple[int, int]]:
    """(met, breached) per (network, metric) for the clocks of `tickets` that started in
    [started_from, started_to), decided as of `now` as `sla_attainment` does; pairs without a
    decided clock are left out. One aggregate query over the stored clocks."""
    rows = (
        SlaClock.objects.filter(
            ticket__in=tickets, started_at__gte=started_from, started_at__lt=started_to
        )
        .values("ticket__network", "metric")
        .annotate(
            met=Count("pk", filter=_met(now)),
            breached=Count("pk", filter=_breached(now)),
        )
        .order_by()
    )
    return {
        (r["ticket__network"], r["metric"]): (r["met"], r["breached"])
        for r in rows
        if r["met"] or r["breached"]
    }


def _met(now: datetime) -> Q:
    """A stored clock met its target by `now`: stopped, and not breached."""
    return Q(stopped_at__isnull=False) & ~_breached(now)


def _breached(now: datetime) -> Q:
    """A stored clock is breached by `now`: it was at its refresh, or its deadline passed."""
    return Q(is_breached=True) | Q(due_at__lte=now)


def _metric(metric: str) -> str:
    if metric not in METRICS:
        raise DomainError(f"metric must be one of {', '.join(METRICS)}", field="metric")
    return metric


def sla_breaches_due(*, now: datetime, max_age: timedelta) -> QuerySet[SlaClock]:
    """Clocks whose deadline passed within `max_age` and that have no alert yet."""
    alerted = SlaBreach.objects.filter(
        ticket=OuterRef("ticket"), metric=OuterRef("metric"), started_at=OuterRef("started_at")
    )
    return (
        SlaClock.objects.filter(due_at__lte=now, due_at__gt=now - max_age)
        .exclude(Exists(alerted))
        .select_related("ticket__handle")
        .order_by("due_at", "id")
    )
