"""Which SLA targets a ticket gets: its priority, and the policy's first matching target.
Pure functions over the policy's dataclasses."""

from __future__ import annotations

from datetime import datetime

from mentiondesk.policy.schema.sla import SlaPolicy, SlaTarget

from .clock import Calendar, Targets

HIGH = "high"
NORMAL = "normal"
# Outage reports affect many people at once (the seed: downtime tweets get the status link).
HIGH_INTENTS = frozenset({"availability"})


def ticket_priority(*, intent: str, escalated_at: datetime | None) -> str:
    """ "high" for availability reports and tickets escalated to experts, else "normal"."""
    return HIGH if intent in HIGH_INTENTS or escalated_at is not None else NORMAL


def target_match(sla: SlaPolicy, *, handle: str, intent: str, priority: str) -> SlaTarget | None:
    """The first `[[sla.target]]` whose filters all match; None when none does."""
    for target in sla.targets:
        if target.handles and handle.lower() not in {h.lower() for h in target.handles}:
            continue
        if target.intents and intent not in target.intents:
            continue
        if target.priorities and priority not in target.priorities:
            continue
        return target
    return None


def targets_of(sla: SlaPolicy, target: SlaTarget | None) -> Targets:
    """The clock module's view of `target`: seconds per metric and the calendar."""
    if target is None:
        return Targets()
    business = target.business_hours and sla.week is not None
    calendar = Calendar(
        time_zone=sla.time_zone,
        week=sla.week if business else None,
        holidays=frozenset(sla.holidays) if business else frozenset(),
    )
    return Targets(
        first_response=target.first_response,
        next_response=target.next_response,
        resolution=target.resolution,
        calendar=calendar,
    )
