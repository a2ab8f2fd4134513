"""SLA breach alerts: each clock past its deadline is recorded once (SlaBreach) and announced
in Slack, so the alert sits above both sla and the Slack integration."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from mentiondesk.core.errors import DomainError
from mentiondesk.integrations.slack import services as slack
from mentiondesk.policy.selectors import policy_current
from mentiondesk.sla import selectors
from mentiondesk.sla.models import Metric, SlaBreach, SlaClock
from mentiondesk.sla.services import tickets_sla_refresh
from mentiondesk.tickets.selectors import ticket_url

logger = logging.getLogger(__name__)

# Breaches whose deadline passed longer ago are not announced: a worker that was down for a
# day, history just imported or a new policy would otherwise flood the channel with old news.
BREACH_ALERT_MAX_AGE = timedelta(hours=24)


def sla_breaches_notify(*, now: datetime | None = None) -> int:
    """Announce each clock that passed its deadline, once: in the policy's `breach_channel`
    through the Slack outbox (nothing is posted when there is no channel or Slack is off,
    but the breach is still recorded, so it is not announced later either).

    Once means once: the SlaBreach row's unique key (ticket, metric, clock start) is written
    in the same transaction as the Slack message, so a second job, even one running at the
    same time, fails to insert it and posts nothing. Returns how many breaches were new."""
    now = now or timezone.now()
    policy = policy_current()
    channel = policy.channel(policy.sla.breach_channel) if policy.sla.breach_channel else None
    # A post ingested moments ago may have stopped a clock whose refresh is still queued:
    # recompute the candidates first, so that only real breaches are announced.
    candidates = selectors.sla_breaches_due(now=now, max_age=BREACH_ALERT_MAX_AGE)
    with transaction.atomic():
        tickets_sla_refresh(ticket_ids=candidates.values_list("ticket_id", flat=True), now=now)
    announced = 0
    # Read first: each alert below commits on its own while the list is walked.
    for clock in list(selectors.sla_breaches_due(now=now, max_age=BREACH_ALERT_MAX_AGE)):
        try:
            with transaction.atomic():
                breach = SlaBreach.objects.create(
                    ticket=clock.ticket,
                    metric=clock.metric,
                    started_at=clock.started_at,
                    # Never None: sla_breaches_due selects clocks by due_at.
                    due_at=clock.due_at,  # type: ignore[misc]
                )
                if channel is not None and slack.slack_is_configured():
                    try:
                        breach.slack_message = slack.slack_message_enqueue(
                            channel=channel.slack,
                            text=_breach_text(clock),
                            purpose="sla_breach",
                            ticket=clock.ticket,
                        )
                    except DomainError as exc:
                        logger.warning("SLA breach on #%s not posted: %s", clock.ticket_id, exc)
                    else:
                        breach.save(update_fields=["slack_message"])
        except IntegrityError:
            continue  # another run announced it first
        announced += 1
    return announced


def _breach_text(clock: SlaClock) -> str:
    ticket = clock.ticket
    return (
        f"SLA breached: {Metric(clock.metric).label.lower()} on ticket #{ticket.pk} from "
        f"@{ticket.requester_username} to @{ticket.handle.username} was due "
        f"{clock.due_at:%Y-%m-%d %H:%M} UTC.\n{ticket_url(ticket)}"
    )
