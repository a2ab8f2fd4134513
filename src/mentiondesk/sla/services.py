"""SLA writes: refresh the stored clocks of tickets whose timeline changed (breach alerts are
`actions.sla`, above the Slack integration)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from mentiondesk.policy.schema.sla import SlaPolicy
from mentiondesk.policy.selectors import policy_current
from mentiondesk.tickets.models import ACTIVE_STATUSES, Ticket

from . import rules, selectors
from .clock import clock_next_due, clocks_compute
from .models import SlaClock, TicketSla

logger = logging.getLogger(__name__)

# Refreshes read this many tickets' timelines per round trip.
BATCH = 500
# Breaches whose deadline passed longer ago are not announced: a worker that was down for a
# day, history just imported or a new policy would otherwise flood the channel with old news.
BREACH_ALERT_MAX_AGE = timedelta(hours=24)


def tickets_sla_refresh(*, ticket_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute the clocks of `ticket_ids` from their timelines and the policy in force, and
    store them (TicketSla, SlaClock). Call it in the transaction that changed the tickets'
    posts, status, intent or escalation, so the stored state never lags what it derives from.
    Returns how many tickets were refreshed."""
    ids = sorted(set(ticket_ids))
    now = now or timezone.now()
    policy = policy_current().sla
    done = 0
    for start in range(0, len(ids), BATCH):
        done += _refresh_batch(ids[start : start + BATCH], policy=policy, now=now)
    return done


@transaction.atomic
def _refresh_batch(ids: list[int], *, policy: SlaPolicy, now: datetime) -> int:
    # Locked (in id order) for the read and the write: two refreshes of one ticket at once
    # (a worker's and an alert job's) would each delete, then both insert the same clocks.
    tickets = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("handle")
        .order_by("pk")
    )
    timelines = selectors.ticket_moments(tickets=tickets)
    states: list[TicketSla] = []
    clock_rows: list[SlaClock] = []
    for ticket in tickets:
        priority = rules.ticket_priority(intent=ticket.intent, escalated_at=ticket.escalated_at)
        target = rules.target_match(
            policy, handle=ticket.handle.username, intent=ticket.intent, priority=priority
        )
        clocks = clocks_compute(
            timelines[ticket.pk],
            rules.targets_of(policy, target),
            now,
            status_now=(ticket.status, ticket.solved_at or ticket.updated_at),
        )
        clock_rows += [
            SlaClock(
                ticket=ticket,
                metric=c.metric,
                started_at=c.started_at,
                stopped_at=c.stopped_at,
                target_seconds=c.target_seconds,
                elapsed_seconds=c.elapsed_seconds,
                is_paused=c.paused,
                due_at=c.due_at,
                is_breached=c.breached,
            )
            for c in clocks
        ]
        due = clock_next_due(clocks)
        paused = [c for c in clocks if c.running and c.paused and not c.breached]
        nearest_paused = min(
            paused, key=lambda c: c.target_seconds - c.elapsed_seconds, default=None
        )
        # Breaches that no counting clock's deadline shows: answered late, or paused overdue.
        settled = [c.due_at for c in clocks if c.breached and c.due_at and c is not due]
        shown = due or nearest_paused
        states.append(
            TicketSla(
                ticket=ticket,
                target=target.name if target else "",
                priority=priority,
                due_at=due.due_at if due else None,
                warn_at=due.due_at - timedelta(seconds=policy.warn_before)
                if due and due.due_at
                else None,
                due_metric=shown.metric if shown else "",
                paused_seconds_left=(
                    int(nearest_paused.target_seconds - nearest_paused.elapsed_seconds)
                    if nearest_paused and not due
                    else None
                ),
                breached_at=min(settled, default=None),
                refreshed_at=now,
            )
        )
    SlaClock.objects.filter(ticket_id__in=ids).delete()
    SlaClock.objects.bulk_create(clock_rows)
    TicketSla.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=[
            "target",
            "priority",
            "due_at",
            "due_metric",
            "warn_at",
            "paused_seconds_left",
            "breached_at",
            "refreshed_at",
        ],
    )
    return len(tickets)


def tickets_sla_refresh_later(*, ticket_ids: Iterable[int]) -> None:
    """Refresh `ticket_ids` in a worker after commit: for ingest, whose pages must stay fast.
    Until then queues show the previous deadlines; breach alerts refresh before they post."""
    ids = sorted(set(ticket_ids))
    if ids:
        transaction.on_commit(lambda: _enqueue_refresh(ids))


def _enqueue_refresh(ticket_ids: list[int]) -> None:
    tickets_sla_refresh_task.enqueue(ticket_ids=ticket_ids)


# Beside the service it runs, so enqueueing it needs no import of tasks.py (which imports
# this module).
@task(queue_name="default")
def tickets_sla_refresh_task(*, ticket_ids: list[int]) -> None:
    tickets_sla_refresh(ticket_ids=ticket_ids)


def tickets_sla_refresh_all(*, active_only: bool = True, now: datetime | None = None) -> int:
    """Refresh every ticket (active ones only, by default: after a policy change, solved
    tickets keep the targets they were measured against)."""
    tickets = Ticket.objects.all()
    if active_only:
        tickets = tickets.filter(status__literal_in=ACTIVE_STATUSES).exclude(
            status=Ticket.Status.SOLVED
        )
    return tickets_sla_refresh(ticket_ids=tickets.values_list("pk", flat=True), now=now)
