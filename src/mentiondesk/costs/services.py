"""The X cost meter: calls reported by the connector become ledger rows, priced with the
policy's [x_billing], and the month's spend is checked against its budget."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mentiondesk.channels.choices import UsageKind
from mentiondesk.channels.connectors.base import CallReport
from mentiondesk.channels.models import Handle, Post
from mentiondesk.core.errors import DomainError
from mentiondesk.integrations.slack import services as slack_services
from mentiondesk.integrations.slack.models import SlackMessage
from mentiondesk.policy.schema.costs import XBilling
from mentiondesk.policy.selectors import policy_current

from .billing import Usage, call_usage
from .models import BilledResource, BudgetAlert, XApiUsage
from .selectors import money, month_spend, month_start

logger = logging.getLogger(__name__)

# Ids per query: under SQLite's historical limit of 999 parameters.
CHUNK = 900


class UsageMeter:
    """Collects what one connector does for one handle (and ticket, when the work is for one)
    and writes it in one batch: `flush()` after the poll, the send or the action. Passed to
    `XConnector.recording()` as its recorder. Each call is reduced to its Usage at once, so a
    long poll keeps ids, not answers, until the flush."""

    def __init__(self, *, handle: Handle, ticket_id: int | None = None) -> None:
        self.handle = handle
        self.ticket_id = ticket_id
        self.usages: list[tuple[date, Usage]] = []

    def __call__(self, report: CallReport) -> None:
        day = timezone.now().astimezone(UTC).date()
        self.usages.extend((day, usage) for usage in call_usage(report))

    def flush(self) -> list[XApiUsage]:
        """Record what was collected since the last flush (see `usage_record`)."""
        usages, self.usages = self.usages, []
        if not usages:
            return []
        return usage_record(handle=self.handle, ticket_id=self.ticket_id, usages=usages)


def usage_record(
    *, handle: Handle | None, ticket_id: int | None, usages: list[tuple[date, Usage]]
) -> list[XApiUsage]:
    """Append `usages` (each with the UTC day of its call) to the ledger: one row per day,
    kind, endpoint and ticket, priced with the policy in force.

    Reads bill each resource once per UTC day, as X does (BilledResource). Post reads without
    `ticket_id` are attributed to the tickets of the posts read (one query for the batch);
    what matches no ticket stays on the handle only. Then checks the month's budget
    (`budget_check`). Returns the rows written."""
    billing = policy_current().x_billing
    # (day, kind, endpoint, ticket) -> [requests, failed, units, rate_limited]
    totals: dict[tuple[date, str, str, int | None], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    reads: list[tuple[date, Usage]] = []
    for day, usage in usages:
        row = totals[(day, usage.kind, usage.endpoint, ticket_id)]
        row[0] += usage.requests
        row[1] += usage.failed
        row[2] += usage.units
        row[3] += usage.rate_limited
        if usage.resource_ids:
            reads.append((day, usage))

    now = timezone.now()
    with transaction.atomic():
        if reads:
            fresh = _billed_first_today(reads)
            tickets: dict[str, int] = {}
            if ticket_id is None and handle is not None:
                tickets = _tickets_of_posts(
                    network=handle.network,
                    remote_ids={
                        rid
                        for (_, kind), ids in fresh.items()
                        if kind == UsageKind.POST_READ
                        for rid in ids
                    },
                )
            for day, usage in reads:
                unbilled = fresh[(day, usage.kind)]
                for rid in usage.resource_ids:
                    if rid not in unbilled:
                        continue
                    unbilled.discard(rid)
                    ticket = ticket_id
                    if ticket is None and usage.kind == UsageKind.POST_READ:
                        ticket = tickets.get(rid)
                    totals[(day, usage.kind, usage.endpoint, ticket)][2] += 1
        rows = [
            _row(
                billing,
                at=now,
                handle=handle,
                key=key,
                counts=counts,
            )
            for key, counts in totals.items()
            if counts[0] or counts[2]
        ]
        XApiUsage.objects.bulk_create(rows, batch_size=CHUNK // 15)
        if billing and any(row.amount for row in rows):
            budget_check(billing=billing, today=now.astimezone(UTC).date())
    return rows


def _row(
    billing: XBilling | None,
    *,
    at: datetime,
    handle: Handle | None,
    key: tuple[date, str, str, int | None],
    counts: list[int],
) -> XApiUsage:
    day, kind, endpoint, ticket = key
    requests, failed, units, rate_limited = counts
    price = billing.price(kind) if billing else Decimal(0)
    return XApiUsage(
        at=at,
        day=day,
        handle=handle,
        ticket_id=ticket,
        kind=kind,
        endpoint=endpoint,
        requests=requests,
        failed=failed,
        rate_limited=rate_limited,
        units=units,
        unit_price=price,
        amount=price * units,
        currency=billing.currency if billing else "",
    )


def _billed_first_today(
    reads: list[tuple[date, Usage]],
) -> dict[tuple[date, str], set[str]]:
    """The ids in `reads` not billed yet on their day, by day and kind, now marked billed.
    Soft, like X's own deduplication: two workers reading the same post at the same instant
    may both count it."""
    wanted: dict[tuple[date, str], set[str]] = defaultdict(set)
    for day, usage in reads:
        wanted[(day, usage.kind)].update(usage.resource_ids)
    fresh: dict[tuple[date, str], set[str]] = {}
    new_rows = []
    for (day, kind), ids in wanted.items():
        known = {
            rid
            for chunk in _chunks(ids)
            for rid in BilledResource.objects.filter(
                day=day, kind=kind, remote_id__in=chunk
            ).values_list("remote_id", flat=True)
        }
        fresh[(day, kind)] = ids - known
        new_rows += [BilledResource(day=day, kind=kind, remote_id=rid) for rid in ids - known]
    BilledResource.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=CHUNK)
    # X's window is one UTC day: yesterday's marks can go.
    BilledResource.objects.filter(day__lt=min(day for day, _ in wanted)).delete()
    return fresh


def _tickets_of_posts(*, network: str, remote_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(remote_ids):
        found.update(
            Post.objects.filter(network=network, remote_id__in=chunk, ticket__isnull=False)
            .values_list("remote_id", "ticket_id")
            .iterator()
        )
    return found


def _chunks(ids: set[str]) -> Iterator[list[str]]:
    """`ids` in lists short enough for any database's limit on query parameters (a backlog
    poll reads tens of thousands of posts)."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def budget_check(*, billing: XBilling, today: date) -> BudgetAlert | None:
    """When this month's spend has reached the warning threshold, record the month's alert and
    queue one Slack warning to the policy's `alert_channel`, once per month (the alert's month
    is unique, so concurrent workers cannot both warn). Returns the alert when this call
    created it. Slack not configured: the alert is recorded (the banner shows) without a
    message."""
    threshold = billing.warn_amount
    if threshold is None:
        return None
    month = month_start(today)
    if BudgetAlert.objects.filter(month=month).exists():
        return None
    spend = month_spend(today=today)
    if spend < threshold:
        return None
    alert, created = BudgetAlert.objects.get_or_create(
        month=month,
        defaults={
            "spend": spend,
            "budget": billing.monthly_budget,
            "threshold": threshold,
            "currency": billing.currency,
        },
    )
    if not created:
        return None
    if billing.alert_channel:
        alert.slack_message = _slack_warning(alert=alert, billing=billing)
        alert.save(update_fields=["slack_message"])
    return alert


def _slack_warning(*, alert: BudgetAlert, billing: XBilling) -> SlackMessage | None:
    channel = policy_current().channel(billing.alert_channel)
    if channel is None:
        return None
    text = (
        f"X API spend for {alert.month:%B %Y} is {money(alert.spend, alert.currency)}: "
        f"{billing.warn_at_percent}% of the {money(alert.budget, alert.currency)} monthly "
        "budget reached. Per day, handle and ticket: "
        f"{_costs_url()}"
    )
    try:
        return slack_services.slack_message_enqueue(
            channel=channel.slack, text=text, purpose=SlackMessage.Purpose.OTHER
        )
    except DomainError as exc:  # Slack off: the banner still warns the leads
        logger.warning("X budget warning not posted to Slack: %s", exc)
        return None


def _costs_url() -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.BASE_URL + reverse("costs:page")
